"""A plain service that the registry benchmark kills with SIGKILL."""

import sys

from rpc_cluster import Service, config


class VictimService(Service):
    name = "VictimService"


def main() -> int:
    parser = config.ArgumentParser(prog="victim")
    config.add_service_flags(parser, "VICTIM", 0)
    args = parser.parse_args()
    config.setup_logging(args.log_level)
    return config.serve(lambda: VictimService(**config.service_kwargs(args)))


if __name__ == "__main__":
    sys.exit(main())
