#!/usr/bin/python3
"""Hand-written protobuf encoding of OTLP logs for eventd's integration tests (no protoc
needed): the field numbers are those of opentelemetry-proto's logs_service.proto, logs.proto,
resource.proto and common.proto.

  otlp_pb.py encode < request.json > request.bin
      the OTLP JSON request (lowerCamelCase, hex ids) as an ExportLogsServiceRequest
  otlp_pb.py decode-response < response.bin
      an ExportLogsServiceResponse (or a google.rpc.Status with --status) as JSON
"""
import json
import struct
import sys


def varint(v):
    if v < 0:
        v += 1 << 64
    out = bytearray()
    while True:
        b = v & 0x7F
        v >>= 7
        if v:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def key(field, wire):
    return varint(field << 3 | wire)


def f_len(field, data):
    return key(field, 2) + varint(len(data)) + data


def f_str(field, s):
    return f_len(field, s.encode("utf-8")) if s else b""


def f_varint(field, v):
    return key(field, 0) + varint(v) if v else b""


def f_fixed64(field, v):
    return key(field, 1) + struct.pack("<Q", v) if v else b""


def f_fixed32(field, v):
    return key(field, 5) + struct.pack("<I", v) if v else b""


def any_value(av):
    if "stringValue" in av:
        return f_len(1, av["stringValue"].encode("utf-8"))
    if "boolValue" in av:
        return key(2, 0) + varint(1 if av["boolValue"] else 0)
    if "intValue" in av:
        return key(3, 0) + varint(int(av["intValue"]))
    if "doubleValue" in av:
        return key(4, 1) + struct.pack("<d", float(av["doubleValue"]))
    if "arrayValue" in av:
        vals = b"".join(f_len(1, any_value(v)) for v in av["arrayValue"].get("values", []))
        return f_len(5, vals)
    if "kvlistValue" in av:
        kvs = b"".join(f_len(1, key_value(kv)) for kv in av["kvlistValue"].get("values", []))
        return f_len(6, kvs)
    if "bytesValue" in av:
        import base64
        return f_len(7, base64.b64decode(av["bytesValue"]))
    return b""


def key_value(kv):
    return f_str(1, kv["key"]) + (f_len(2, any_value(kv["value"])) if "value" in kv else b"")


def attrs(field, lst):
    return b"".join(f_len(field, key_value(kv)) for kv in lst or [])


def log_record(r):
    out = f_fixed64(1, int(r.get("timeUnixNano", 0)))
    out += f_varint(2, int(r.get("severityNumber", 0)))
    out += f_str(3, r.get("severityText", ""))
    if "body" in r:
        out += f_len(5, any_value(r["body"]))
    out += attrs(6, r.get("attributes"))
    out += f_varint(7, int(r.get("droppedAttributesCount", 0)))
    out += f_fixed32(8, int(r.get("flags", 0)))
    if r.get("traceId"):
        out += f_len(9, bytes.fromhex(r["traceId"]))
    if r.get("spanId"):
        out += f_len(10, bytes.fromhex(r["spanId"]))
    out += f_fixed64(11, int(r.get("observedTimeUnixNano", 0)))
    out += f_str(12, r.get("eventName", ""))
    return out


def request(d):
    out = b""
    for rl in d.get("resourceLogs", []):
        body = b""
        if "resource" in rl:
            body += f_len(1, attrs(1, rl["resource"].get("attributes")))
        for sl in rl.get("scopeLogs", []):
            sb = b""
            if "scope" in sl:
                sc = sl["scope"]
                sb += f_len(1, f_str(1, sc.get("name", "")) + f_str(2, sc.get("version", "")) +
                            attrs(3, sc.get("attributes")))
            for r in sl.get("logRecords", []):
                sb += f_len(2, log_record(r))
            body += f_len(2, sb)
        out += f_len(1, body)
    return out


def read_varint(b, i):
    v = shift = 0
    while True:
        c = b[i]
        i += 1
        v |= (c & 0x7F) << shift
        shift += 7
        if not c & 0x80:
            return v, i


def fields(b):
    i = 0
    while i < len(b):
        k, i = read_varint(b, i)
        f, w = k >> 3, k & 7
        if w == 0:
            v, i = read_varint(b, i)
        elif w == 2:
            n, i = read_varint(b, i)
            v = b[i:i + n]
            i += n
        elif w == 1:
            v = b[i:i + 8]
            i += 8
        elif w == 5:
            v = b[i:i + 4]
            i += 4
        else:
            raise ValueError("wire type %d" % w)
        yield f, v


def main():
    cmd = sys.argv[1]
    if cmd == "encode":
        sys.stdout.buffer.write(request(json.load(sys.stdin)))
    elif cmd == "decode-response":
        b = sys.stdin.buffer.read()
        out = {}
        if "--status" in sys.argv:
            for f, v in fields(b):
                if f == 1:
                    out["code"] = v
                elif f == 2:
                    out["message"] = v.decode()
        else:
            for f, v in fields(b):
                if f == 1:
                    ps = {}
                    for g, w in fields(v):
                        if g == 1:
                            ps["rejectedLogRecords"] = w
                        elif g == 2:
                            ps["errorMessage"] = w.decode()
                    out["partialSuccess"] = ps
        print(json.dumps(out))
    else:
        sys.exit("unknown command " + cmd)


if __name__ == "__main__":
    main()
