# rabbit.sh — start/stop a private RabbitMQ node for the amqp output tests (bash; source it
# after lib.sh). Owner: outputs-dest. As /work/shared/reference/test-components.md says: the
# node runs from $EVD_TMP/rabbit with its own ports on 127.0.0.1, is stopped by PID, and its
# epmd is stopped by PID too.
#
#   rabbit_start     start the node (first call picks ports; later calls restart it on the
#                    same ports and data, so durable queues and persistent messages survive);
#                    sets RABBIT_PORT; fails the test if it is not ready within 90 s
#   rabbit_stop      stop the node (TERM, then KILL after 30 s)
#   rabbit_consume ARGS...   run consume.py against the node (see that file)
#   rabbit_ctl ARGS...       rabbitmqctl against the node
# Set RABBIT_TLS_CERT and RABBIT_TLS_KEY (PEM) before the first rabbit_start for an AMQPS
# listener too (RABBIT_TLS_PORT).
#
# Cleanup at exit: rabbit_cleanup stops the node and epmd (call it from the test's own EXIT
# trap, or rely on rabbit_start having chained it into lib.sh's).

RABBIT_DIR=$EVD_TMP/rabbit
RABBIT_PORT=""
RABBIT_DIST_PORT=""
RABBIT_EPMD_PORT=""
RABBIT_PID=""
RABBIT_TLS_PORT=""
RABBIT_CONSUME=$EVD_SOURCE_DIR/tests/integration/amqp/consume.py

rabbit_free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

rabbit_env() {
  export HOME=$RABBIT_DIR RABBITMQ_CONF_ENV_FILE=$RABBIT_DIR/rabbitmq-env.conf
  export RABBITMQ_CONFIG_FILE=$RABBIT_DIR/rabbitmq
  export RABBITMQ_ADVANCED_CONFIG_FILE=$RABBIT_DIR/advanced.config
  export RABBITMQ_ENABLED_PLUGINS_FILE=$RABBIT_DIR/enabled_plugins
  export RABBITMQ_NODENAME=evdtest$RABBIT_DIST_PORT@localhost RABBITMQ_NODE_IP_ADDRESS=127.0.0.1
  export RABBITMQ_NODE_PORT=$RABBIT_PORT RABBITMQ_DIST_PORT=$RABBIT_DIST_PORT
  export RABBITMQ_MNESIA_BASE=$RABBIT_DIR/mnesia RABBITMQ_LOG_BASE=$RABBIT_DIR/log
  export RABBITMQ_LOGS=$RABBIT_DIR/log/rabbit.log RABBITMQ_PID_FILE=$RABBIT_DIR/rabbit.pid
  export ERL_EPMD_ADDRESS=127.0.0.1 ERL_EPMD_PORT=$RABBIT_EPMD_PORT
  export RABBITMQ_SERVER_START_ARGS="-kernel inet_dist_use_interface {127,0,0,1}"
}

rabbit_start() {
  mkdir -p "$RABBIT_DIR/log" "$RABBIT_DIR/mnesia"
  if [[ -z $RABBIT_PORT ]]; then
    RABBIT_PORT=$(rabbit_free_port)
    RABBIT_DIST_PORT=$(rabbit_free_port)
    RABBIT_EPMD_PORT=$(rabbit_free_port)
    : >"$RABBIT_DIR/rabbitmq-env.conf"
    echo "listeners.tcp.default = 127.0.0.1:$RABBIT_PORT" >"$RABBIT_DIR/rabbitmq.conf"
    echo "loopback_users = none" >>"$RABBIT_DIR/rabbitmq.conf"
    if [[ -n ${RABBIT_TLS_CERT:-} ]]; then
      RABBIT_TLS_PORT=$(rabbit_free_port)
      cat >>"$RABBIT_DIR/rabbitmq.conf" <<CONF
listeners.ssl.default = 127.0.0.1:$RABBIT_TLS_PORT
ssl_options.cacertfile = $RABBIT_TLS_CERT
ssl_options.certfile = $RABBIT_TLS_CERT
ssl_options.keyfile = $RABBIT_TLS_KEY
ssl_options.verify = verify_none
ssl_options.fail_if_no_peer_cert = false
CONF
    fi
    echo '[].' >"$RABBIT_DIR/advanced.config"
    echo '[].' >"$RABBIT_DIR/enabled_plugins"
  fi
  (
    rabbit_env
    exec setsid /usr/lib/rabbitmq/bin/rabbitmq-server >"$RABBIT_DIR/log/stdout.log" 2>&1
  ) &
  RABBIT_PID=$!
  local i
  for i in $(seq 1 900); do
    if /usr/bin/python3 "$RABBIT_CONSUME" --port "$RABBIT_PORT" ping >/dev/null 2>&1; then
      return 0
    fi
    [[ $(ps -o stat= -p "$RABBIT_PID" 2>/dev/null) =~ ^[^Z] ]] || {
      tail -20 "$RABBIT_DIR/log/stdout.log" >&2
      evd_fail "rabbitmq-server exited while starting"
    }
    sleep 0.1
  done
  tail -20 "$RABBIT_DIR/log/stdout.log" >&2
  evd_fail "rabbitmq-server not ready on port $RABBIT_PORT within 90 s"
}

rabbit_stop() {
  [[ -n $RABBIT_PID ]] || return 0
  local pid=$RABBIT_PID
  [[ -f $RABBIT_DIR/rabbit.pid ]] && pid=$(cat "$RABBIT_DIR/rabbit.pid")
  kill -TERM "$pid" "$RABBIT_PID" 2>/dev/null
  local i
  for i in $(seq 1 300); do
    [[ $(ps -o stat= -p "$pid" 2>/dev/null) =~ ^[^Z] ]] || break
    sleep 0.1
  done
  kill -KILL "$pid" 2>/dev/null
  wait "$RABBIT_PID" 2>/dev/null
  rm -f "$RABBIT_DIR/rabbit.pid"
  RABBIT_PID=""
}

rabbit_stop_epmd() {
  [[ -n $RABBIT_EPMD_PORT ]] || return 0
  local pids
  pids=$(ss -ltnpH "sport = :$RABBIT_EPMD_PORT" 2>/dev/null | grep -o 'pid=[0-9]*' | cut -d= -f2 | sort -u)
  for p in $pids; do kill -TERM "$p" 2>/dev/null; done
}

rabbit_cleanup() {
  rabbit_stop
  rabbit_stop_epmd
}

# rabbit_ctl ARGS...: rabbitmqctl against the node (add_vhost, set_permissions, ...).
rabbit_ctl() { (rabbit_env; /usr/lib/rabbitmq/bin/rabbitmqctl -n "$RABBITMQ_NODENAME" "$@"); }

rabbit_consume() { /usr/bin/python3 "$RABBIT_CONSUME" --port "$RABBIT_PORT" "$@"; }
