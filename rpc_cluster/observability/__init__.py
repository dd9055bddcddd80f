"""What a service tells about itself.

``metrics`` (Prometheus, on ``GET /metrics``) and ``log_entries`` (one central log entry).
"""
