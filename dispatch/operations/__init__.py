"""Operations: the dispatchers' calls, their live fleet feed, and the analysts' exports."""
