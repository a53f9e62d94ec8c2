#!/usr/bin/python3
"""AMQP helper for the amqp output tests (owner: outputs-dest), with Debian's python3-pika.

    consume.py --port P [--vhost V] ping
        exit 0 when a connection to the broker opens
    consume.py --port P bind QUEUE EXCHANGE PATTERN...
        declare the durable topic EXCHANGE (as eventd does), a durable QUEUE, and bind it with
        each PATTERN ('*' one word, '#' zero or more)
    consume.py --port P drain QUEUE [--expect N] [--timeout S]
        read (and ack) messages from QUEUE until N arrived (or, without --expect, until the
        queue stays empty for 1 s), at most S seconds; print one JSON line per message:
        {"routing_key", "body" (parsed JSON), "delivery_mode", "content_type", "message_id"}
"""
import argparse
import json
import sys
import time

import pika


def connect(port, vhost):
    params = pika.ConnectionParameters(host="127.0.0.1", port=port, virtual_host=vhost,
                                       credentials=pika.PlainCredentials("guest", "guest"),
                                       connection_attempts=1, socket_timeout=5,
                                       blocked_connection_timeout=10)
    return pika.BlockingConnection(params)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--vhost", default="/")
    sub = p.add_subparsers(dest="cmd", required=True)
    sub.add_parser("ping")
    b = sub.add_parser("bind")
    b.add_argument("queue")
    b.add_argument("exchange")
    b.add_argument("patterns", nargs="+")
    d = sub.add_parser("drain")
    d.add_argument("queue")
    d.add_argument("--expect", type=int)
    d.add_argument("--timeout", type=float, default=20)
    args = p.parse_args()

    conn = connect(args.port, args.vhost)
    ch = conn.channel()
    if args.cmd == "ping":
        conn.close()
        return 0
    if args.cmd == "bind":
        ch.exchange_declare(args.exchange, exchange_type="topic", durable=True)
        ch.queue_declare(args.queue, durable=True)
        for pat in args.patterns:
            ch.queue_bind(args.queue, args.exchange, routing_key=pat)
        conn.close()
        return 0
    got = 0
    end = time.time() + args.timeout
    idle_since = time.time()
    while time.time() < end:
        if args.expect is not None and got >= args.expect:
            break
        method, props, body = ch.basic_get(args.queue, auto_ack=False)
        if method is None:
            if args.expect is None and time.time() - idle_since > 1.0:
                break
            time.sleep(0.05)
            continue
        idle_since = time.time()
        try:
            parsed = json.loads(body)
        except ValueError:
            parsed = body.decode("utf-8", "replace")
        print(json.dumps({"routing_key": method.routing_key, "body": parsed,
                          "delivery_mode": props.delivery_mode,
                          "content_type": props.content_type,
                          "message_id": props.message_id}, separators=(",", ":")))
        sys.stdout.flush()
        ch.basic_ack(method.delivery_tag)
        got += 1
    conn.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
