"""A small service for tests: ``Echo.*`` plus the usual lifecycle.

python tests/helpers/echo_service.py --name EchoService --requires Other --port 0
"""

from __future__ import annotations

import logging
import os
import sys
import time

from rpc_cluster import Client, Service, config, current_trace_id, rpc_method

log = logging.getLogger("echo")


class Echo:
    def __init__(self, service: EchoService):
        self._service = service
        self.pid = os.getpid()

    @rpc_method
    def echo(self, text: str) -> str:
        """Return ``text`` unchanged."""
        return text

    @rpc_method
    def whoami(self) -> dict:
        """The instance that answered: its URL and process id."""
        return {"url": self._service.url, "pid": self.pid, "trace_id": current_trace_id()}

    @rpc_method
    def providers(self) -> dict:
        """This instance's table of providers."""
        return self._service.providers.snapshot()

    @rpc_method
    def sleep(self, seconds: float) -> float:
        """Sleep, then return the seconds slept (for timeout and drain tests)."""
        time.sleep(seconds)
        return seconds

    @rpc_method
    def relay(self, path: list, text: str) -> list:
        """Log ``text``, pass it on to the next service named in ``path``; the names visited."""
        log.info("relay of %r at %s", text, self._service.name)
        if not path:
            return [self._service.name]
        return [self._service.name, *self._service.connect(path[0]).Echo.relay(path[1:], text)]

    @rpc_method
    def call(self, target: str, method: str, params: dict) -> object:
        """Log, then call ``method`` with ``params`` (by name) on ``target``, a service name or a URL."""
        log.info("call of %s on %s at %s", method, target, self._service.name)
        if target.startswith(("http://", "https://")):
            client = Client(target, token=self._service.token, transport=self._service.transport)
        else:
            client = self._service.connect(target)
        return client.call(method, **params)

    @rpc_method
    def fail(self) -> None:
        """Raise an unexpected exception (its traceback must stay in the log)."""
        raise RuntimeError("secret internal detail")


class EchoService(Service):
    def __init__(self, name: str = "EchoService", requires: tuple[str, ...] = (), **kwargs):
        self.name = name
        self.required_services = tuple(requires)
        super().__init__(**kwargs)

    def expose(self, methods) -> None:
        methods.add_object("Echo", Echo(self))


def main(argv=None) -> int:
    parser = config.ArgumentParser(prog="echo_service")
    config.add_service_flags(parser, "ECHO", 0)
    parser.add_argument("--name", default="EchoService")
    parser.add_argument("--requires", action="append", default=[])
    args = parser.parse_args(argv)
    config.setup_logging(args.log_level)
    return config.serve(lambda: EchoService(args.name, args.requires, **config.service_kwargs(args)))


if __name__ == "__main__":
    sys.exit(main())
