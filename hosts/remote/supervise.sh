#!/bin/sh
# fleetdeck replica supervisor:
#   supervise.sh REPLICA_DIR PYTHON PROGRAM [FIRST_BACKOFF_S [LOG_MAX_BYTES [LOG_CHECK_S [LOG_KEEP]]]]
#
# Runs detached, in a session of its own, so the replica survives with no console
# connected. Each run of vLLM is started through `PROGRAM exec REPLICA_DIR`, which puts
# vLLM in a process group of its own, records pid/pgid/start_ticks and execs the command
# with the 0600 env file's variables (secrets never reach an argv). When vLLM's leader
# exits, whatever is left of its group is killed: a real vLLM leaves EngineCore and
# Worker processes holding memory otherwise. Restarts back off FIRST_BACKOFF_S (10 s),
# doubling, capped at 300 s, reset once a run has stayed up for 600 s. A `stop` file in REPLICA_DIR ends it,
# and so does REPLICA_DIR disappearing: a supervisor never outlives its replica's state.
#
# The log is capped at LOG_MAX_BYTES (50 MiB), LOG_KEEP (2) old files kept, by
# `PROGRAM rotate` (copy-truncate; see rotate.py for its window): before each start, with
# no writer, and from a checker loop every LOG_CHECK_S (10) seconds while vLLM runs. The
# checker is a subshell in this supervisor's process group, not vLLM's, so killing vLLM's
# group never touches it; it ends when the supervisor or REPLICA_DIR is gone.
dir=$1
py=$2
prog=$3
first_backoff=${4:-10}
log_max=${5:-52428800}
log_check=${6:-10}
log_keep=${7:-2}
backoff=$first_backoff
child=

# Records go through `PROGRAM record`, which appends whole lines or nothing: with the
# state dir's disk full, a shell append could cut a line and glue the next one to it.
note() {
    "$py" "$prog" record "$dir" log "[fleetdeck] $(date -u +%Y-%m-%dT%H:%M:%SZ) $*" \
        </dev/null >/dev/null 2>&1
}

# Exit lines not yet written (the disk was full), oldest first, one per line: each loop
# tries them again, so an exit reaches `exits` once there is room, dated when it happened.
pending_exits=
record_exit() {
    pending_exits="$pending_exits$1
"
    flush_exits
}
flush_exits() {
    [ -n "$pending_exits" ] && [ -d "$dir" ] || return 0
    if "$py" "$prog" record "$dir" exits "$pending_exits" </dev/null >/dev/null 2>&1; then
        pending_exits=
    fi
}

rotate_log_if_over_cap() {
    # find's -size is a stat, not a read of the file; python runs only past the cap.
    if [ -n "$(find "$dir/log" -size +"${log_max}c" 2>/dev/null)" ]; then
        "$py" "$prog" rotate "$dir" "$log_max" "$log_keep" </dev/null >/dev/null 2>&1
    fi
}

# vLLM's group if it has one yet; before `exec` has called setpgid, the process itself.
signal_child() {
    kill "-$1" "-$child" 2>/dev/null || kill "-$1" "$child" 2>/dev/null
}

stop_requested() {
    # touch, not `: >file`: a failed redirection on a special builtin makes dash exit,
    # and with REPLICA_DIR gone that would leave vLLM running unsupervised.
    touch "$dir/stop" 2>/dev/null
    if [ -n "$child" ]; then
        signal_child TERM
    fi
}
trap stop_requested TERM INT HUP

echo $$ >"$dir/wrapper_pid.tmp" && mv -f "$dir/wrapper_pid.tmp" "$dir/wrapper_pid" ||
    rm -f "$dir/wrapper_pid.tmp"

supervisor=$$
(
    # Subshells reset trapped signals to their defaults: without this trap a TERM would
    # leave the sleep behind. A rotation under way finishes first (the trap waits for it).
    nap=
    trap 'kill "$nap" 2>/dev/null; exit 0' TERM
    while kill -0 "$supervisor" 2>/dev/null && [ -d "$dir" ]; do
        rotate_log_if_over_cap
        sleep "$log_check" &
        nap=$!
        wait "$nap"
    done
    # The replica's state is gone (deleted by hand, a wiped tmp dir): nothing can manage
    # or adopt this vLLM any more, so it must not hold its GPU on: stop it.
    # Only the supervisor itself: if it is gone, its pid may belong to someone else now.
    if [ ! -d "$dir" ] && grep -qF "$dir" "/proc/$supervisor/cmdline" 2>/dev/null; then
        kill -TERM "$supervisor" 2>/dev/null
    fi
) </dev/null >/dev/null 2>&1 &
checker=$!

wanted() {
    [ -d "$dir" ] && [ ! -e "$dir/stop" ]
}

# Before each start, with no writer: rotation loses nothing then. (Not inside the loop
# between `wanted` and the start: a stop request landing there would go unseen longer.)
rotate_log_if_over_cap
while wanted; do
    flush_exits
    started=$(date +%s)
    "$py" "$prog" exec "$dir" >>"$dir/log" 2>&1 </dev/null &
    child=$!
    if ! wanted; then
        signal_child TERM  # a stop request landed between the check and the start
    fi
    # Exits the disk had no room for: tried again each second while this run lasts, so
    # they do not wait for the next exit once there is room.
    while [ -n "$pending_exits" ] && [ -r "/proc/$child/status" ] &&
        ! grep -q '^State:[[:space:]]*Z' "/proc/$child/status" 2>/dev/null; do
        sleep 1
        flush_exits
    done
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
    ran=$((ended - started))
    # One line per run in $dir/exits: "CODE TIME restart SECONDS", or "CODE TIME stop
    # SECONDS" when it ended after a stop request and is not restarted (fleetdeck's event
    # history; SECONDS is how long the run lasted, so "exited at once" can be told).
    if ! wanted; then
        record_exit "$code $ended stop $ran"
        [ -d "$dir" ] && note "vLLM exited with code $code after a stop request; supervisor ends"
        break
    fi
    if [ "$code" -ne 0 ] && [ ! -e "$dir/first_failure" ]; then
        # The first failure's log is kept: later restarts' output must not bury it.
        tail -n 80 "$dir/log" >"$dir/first_failure.tmp" 2>/dev/null &&
            mv -f "$dir/first_failure.tmp" "$dir/first_failure" ||
            rm -f "$dir/first_failure.tmp"
    fi
    if [ -e "$dir/stop" ]; then
        record_exit "$code $ended stop $ran"
        note "vLLM exited with code $code after a stop request; supervisor ends"
        break
    fi
    record_exit "$code $ended restart $ran"
    if [ "$ran" -ge 600 ]; then
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
    rotate_log_if_over_cap
done
kill "$checker" 2>/dev/null
rm -f "$dir/wrapper_pid" 2>/dev/null
