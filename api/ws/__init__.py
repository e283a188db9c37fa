"""WebSocket channels: the hub of local sockets and the two channel handlers."""
