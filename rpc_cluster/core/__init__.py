"""The RPC core: errors, the method table, dispatch, the JSON-RPC and XML-RPC codecs, OpenRPC, and a call's trace.

No sockets here. ``errors`` (one class per code), ``methods`` (``rpc_method``
and ``MethodTable``), ``dispatch`` (name and params in, result out),
``jsonrpc`` and ``xmlrpc`` (text in, text out around dispatch), ``openrpc``
(the document of a method table), ``tracing`` and ``trace_context`` (the
trace id a call carries, and the W3C headers for it).
"""
