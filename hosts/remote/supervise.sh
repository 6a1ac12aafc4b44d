#!/bin/sh
# fleetdeck replica supervisor: supervise.sh REPLICA_DIR PYTHON PROGRAM [FIRST_BACKOFF_S]
#
# Runs detached, in a session of its own, so the replica survives with no console
# connected. Each run of vLLM is started through `PROGRAM exec REPLICA_DIR`, which puts
# vLLM in a process group of its own, records pid/pgid/start_ticks and execs the command
# with the 0600 env file's variables (secrets never reach an argv). When vLLM's leader
# exits, whatever is left of its group is killed: a real vLLM leaves EngineCore and
# Worker processes holding memory otherwise. Restarts back off FIRST_BACKOFF_S (10 s),
# doubling, capped at 300 s, reset once a run has stayed up for 600 s. A `stop` file in REPLICA_DIR ends it,
# and so does REPLICA_DIR disappearing: a supervisor never outlives its replica's state.
dir=$1
py=$2
prog=$3
first_backoff=${4:-10}
backoff=$first_backoff
child=

note() {
    printf '[fleetdeck] %s %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$*" >>"$dir/log"
}

stop_requested() {
    : >"$dir/stop"
    if [ -n "$child" ]; then
        kill -TERM "-$child" 2>/dev/null
    fi
}
trap stop_requested TERM INT HUP

echo $$ >"$dir/wrapper_pid.tmp" && mv -f "$dir/wrapper_pid.tmp" "$dir/wrapper_pid"

wanted() {
    [ -d "$dir" ] && [ ! -e "$dir/stop" ]
}

while wanted; do
    started=$(date +%s)
    "$py" "$prog" exec "$dir" >>"$dir/log" 2>&1 </dev/null &
    child=$!
    # `wait` returns early when a trapped signal arrives; wait again until the child is gone.
    while :; do
        wait "$child"
        code=$?
        kill -0 "$child" 2>/dev/null || break
    done
    # The leader is gone; take the rest of its group with it. (No `--`: dash rejects it.)
    kill -KILL "-$child" 2>/dev/null
    child=
    ended=$(date +%s)
    if ! wanted; then
        [ -d "$dir" ] && echo "$code $ended" >>"$dir/exits"
        [ -d "$dir" ] && note "vLLM exited with code $code after a stop request; supervisor ends"
        break
    fi
    echo "$code $ended" >>"$dir/exits"
    if [ -e "$dir/stop" ]; then
        note "vLLM exited with code $code after a stop request; supervisor ends"
        break
    fi
    if [ $((ended - started)) -ge 600 ]; then
        backoff=$first_backoff
    fi
    note "vLLM exited with code $code; restarting in ${backoff}s"
    sleep "$backoff" &
    sleeper=$!
    wait "$sleeper" 2>/dev/null
    kill "$sleeper" 2>/dev/null
    backoff=$((backoff * 2))
    if [ "$backoff" -gt 300 ]; then
        backoff=300
    fi
done
rm -f "$dir/wrapper_pid" 2>/dev/null
