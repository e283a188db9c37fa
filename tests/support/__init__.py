"""What the tests share: factories, in-process and subprocess servers, sockets, load."""
