"""The emulator as a network server: gRPC (Google's APIs) and an HTTP control API."""

from emulator.server.emulator_server import EmulatorServer, StartupError, start_server

__all__ = ["EmulatorServer", "StartupError", "start_server"]
