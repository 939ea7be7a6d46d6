#!/usr/bin/env bash
# node.chat_lines: `pkc chat` with pipes for stdin and stdout (line mode)
# beside a `pkc up` node: events one per line with no escape sequences, each
# line in is sent (/to for one peer), and the end of the input ends the chat.
. "$(dirname "$0")/lib.sh"

host_ns
start b "$host"
idb=$(id_of b)
sb=${idb:4:8}

# The chat's stdin is a FIFO the script holds open; its stdout a file.
mkfifo "$tmp/a.in"
exec {chat_in}<> "$tmp/a.in"
nsenter --net="/run/netns/$host" env XDG_RUNTIME_DIR="$tmp/xdg" "$PKC" --data "$tmp/a" \
  --log-level info chat < "$tmp/a.in" > "$tmp/a.out" 2> "$tmp/a.err" {chat_in}>&- &
chat_pid=$!
pids+=($chat_pid)
out_has() { grep -q -- "$1" "$tmp/a.out"; }
b_has() { jq -r 'select(.event == "message") | (if .direct then "dm:" else "" end) + .text' \
  "$tmp/b.out" 2>/dev/null | grep -qxF -- "$1"; }

wait_until 30 "the chat to start" out_has '^you are pkc1'
ida=$(sed -n 's/^you are \(pkc1[a-z0-9]*\) .*/\1/p' "$tmp/a.out" | head -n 1)
wait_until 30 "the peer arriving" out_has "^[0-2][0-9]:[0-5][0-9] \* $sb joined$"
phase "the chat started and b arrived"

echo "hello through a pipe" >&$chat_in
wait_until 20 "the line at b" b_has "hello through a pipe"
out_has "^[0-2][0-9]:[0-5][0-9] you: hello through a pipe$" || fail "the chat does not show what it sent"
pkc b send "hello back" > /dev/null || fail "send from b"
wait_until 20 "b's message in the chat's output" out_has "^[0-2][0-9]:[0-5][0-9] $sb: hello back$"
# Two lines in one write, the second a direct message by a prefix.
printf '%s\n' "first of two" "/to $sb second, for b only" >&$chat_in
wait_until 20 "both lines at b" eval 'b_has "first of two" && b_has "dm:second, for b only"'
wait_until 20 "the receipt" out_has "^[0-2][0-9]:[0-5][0-9] \* delivered to $sb: second, for b only$"
pkc b send --to "$ida" $'two\nlines' > /dev/null || fail "direct message from b"
wait_until 20 "b's direct message" out_has "^[0-2][0-9]:[0-5][0-9] \[direct\] $sb: two$"
out_has "^ \{25\}lines$" || fail "the second line of a message is not indented under the first"
grep -q $'\e' "$tmp/a.out" && fail "escape sequences in line mode"
grep -q $'\r' "$tmp/a.out" && fail "carriage returns in line mode"
phase "lines in and out"

# The end of the input is the end of the chat.
exec {chat_in}>&-
chat_gone() { ! kill -0 "$chat_pid" 2> /dev/null; }
wait_until 20 "the chat to end at the end of its input" chat_gone
wait "$chat_pid" || fail "the chat exited with status $?"
grep -q "ERROR: .*Sanitizer\|runtime error" "$tmp/a.err" && fail "sanitizer report in the chat"
wait_until 20 "b to see the chat leave" no_peer b "$ida"
stop b
passed
