"""AWS wire protocols from botocore's service models: the control-plane APIs' layer.

botocore ships the JSON model of every AWS API: operations, shapes, and how each is put on
the wire (`query`, `json`, `rest-json`, `rest-xml`, `smithy-rpc-v2-cbor`). botocore uses
them as a client (serialise a request, parse a response); this package does the server's
half from the same models: parse a request into an operation and its parameters
(`wire_in`), and put a handler's result or error back on the wire (`wire_out`), so an
operation is a typed handler (`dispatch`) and no API needs hand-written wire code.
"""
