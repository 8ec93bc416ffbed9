"""Threads and sockets: acceptor, peer connections, backlog writer, event queue, TLS."""
