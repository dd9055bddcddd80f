"""The life of a service: ``service`` (``Service`` and its ``Part`` seam), ``registration`` (staying registered),
``push_verifier`` (the registry's pushes, applied as far as it confirms them), ``log_shipping`` (records to the
log service), ``flags`` (command-line flags with environment variables), ``runner`` (run one service from its
command line) and ``config`` (``flags`` and ``runner`` under the one public name services use).
"""
