"""The launcher: runs one service, or the whole embedded platform (broker, four services, one origin)."""
