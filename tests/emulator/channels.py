"""gRPC channels from tests to emulator servers."""

import grpc


def emulator_channel(target: str) -> grpc.Channel:
    """An insecure channel with its own subchannels.

    gRPC shares subchannels between channels to the same address process-wide. Tests start many
    servers on kernel-chosen ports, so a port can come back; a shared subchannel may then still
    be in the backoff of an earlier, closed server and fail with "Connection refused".
    """
    return grpc.insecure_channel(target, options=[("grpc.use_local_subchannel_pool", 1)])
