#!/usr/bin/env bash
# node.dashboard: `pkc dashboard` on a terminal (tmux, 80x24) beside a
# `pkc up` node, in a namespace with lo alone: a peer arriving shows in the
# peers panel, a message from it in the messages panel, an invitation made
# with `pkc invite` in the invitations panel, a document set on the peer in
# the documents panel; a resize redraws the screen at
# the new size; q leaves the terminal as it found it; the node stopping is
# shown, and Ctrl-C leaves the terminal as it found it too. Without a node, and
# without a terminal, it says so plainly.
. "$(dirname "$0")/lib.sh"
command -v tmux > /dev/null || { echo "skipped: needs tmux"; exit 77; }

host_ns
sock="$tmp/tmux.sock"
T() { LANG=C.UTF-8 tmux -S "$sock" "$@"; }
cleanups+=("tmux -S '$sock' kill-server 2>/dev/null")
screen() { T capture-pane -p -t dash; }
# (the last screen looked at is kept where fail() shows it)
pane_has() { screen > "$tmp/zscreen.out"; grep -q -- "$1" "$tmp/zscreen.out"; }
last_line_is() { [ "$(screen | sed '/^ *$/d' | tail -n 1 | sed 's/ *$//')" = "$1" ]; }
keys() { T send-keys -t dash "$@"; }
typ() { T send-keys -t dash -l -- "$1"; }
size_is() { [ "$(T display -p -t dash '#{pane_width}x#{pane_height}')" = "$1" ]; }

# No node yet: said plainly, status 3. Not a terminal: refused, with what to use.
out=$("$PKC" --data "$tmp/a" dashboard 2>&1 < /dev/null)
rc=$?
[ $rc = 3 ] || fail "the dashboard without a node exited with $rc: $out"
grep -q "no node runs on $tmp/a" <<< "$out" || fail "without a node it says: $out"

start a "$host" --room "dashboard test room"
ida=$(id_of a)
out=$("$PKC" --data "$tmp/a" dashboard 2>&1 < /dev/null | cat)
grep -q "needs a terminal.*pkc status --json" <<< "$out" || fail "without a terminal it says: $out"

# A shell in an 80x24 tmux window: its prompt shows when the dashboard is over.
in_ns "$host" env XDG_RUNTIME_DIR="$tmp/xdg" LANG=C.UTF-8 TERM=xterm-256color PS1='shell$ ' \
  tmux -S "$sock" new-session -d -x 80 -y 24 -s dash bash --norc --noprofile \
  || fail "tmux did not start"
wait_until 10 "the shell prompt" pane_has 'shell\$'
typ "stty -g > $tmp/stty.before; $PKC --data $tmp/a dashboard 2>> $tmp/dash.err; echo dash-exit=\$?; stty -g > $tmp/stty.after"
keys Enter
wait_until 20 "the dashboard" pane_has "^ pkc $ida  port [0-9]*  up "
pane_has "^Peers (0)" || fail "the peers panel is not there: $(screen)"
pane_has "^  none connected" || fail "no 'none connected' before a peer: $(screen)"
phase "the dashboard runs"

start b "$host"
idb=$(id_of b)
sb=${idb:4:8}
wait_until 30 "b's row in the peers panel" pane_has "^  $sb [a-z ]* local     direct  [][0-9a-f.:]*:[0-9]* "
pane_has "^Peers (1)" || fail "the peers panel title does not count b: $(screen)"
wait_until 10 "b joining in the messages panel" pane_has "^  [0-2][0-9]:[0-5][0-9]:[0-5][0-9] \* $sb joined local"
phase "the peer arriving is shown"

pkc b send "hello dashboard" > /dev/null || fail "send from b"
wait_until 20 "b's message in the messages panel" \
  pane_has "^  [0-2][0-9]:[0-5][0-9]:[0-5][0-9] $sb \[local\]: hello dashboard"
# What a peer sends cannot drive the terminal.
pkc b send $'\e[2Jcleared?' > /dev/null || fail "send from b"
wait_until 20 "the defused escape sequence" pane_has "$sb \[local\]: ?\[2Jcleared?"
pane_has "hello dashboard" || fail "the screen was cleared by a peer"
phase "messages arriving are shown"

# A document set on b: a row in a's documents panel once b's update is
# applied there (stored size, in sync, the time of b's update).
pkc b doc set plans trip '"by train"' > /dev/null || fail "doc set on b"
wait_until 20 "the document's row" \
  pane_has "^  plans  *local  *[0-9.]* k\?B  *[0-9]* upd  in sync  from peer [0-2][0-9]:[0-5][0-9]:[0-5][0-9]"
pane_has "^Documents (1 open)" || fail "the documents title does not count it: $(screen)"
reply=$(python3 -c 'import socket, sys
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
s.sendall(b"{\"cmd\":\"docs\"}\n")
print(s.makefile().readline())' "$tmp/a/control.sock")
jq -e '.ok and (.docs | length) == 1 and .docs[0].name == "plans" and .docs[0].stored_bytes > 0
  and .docs[0].stored_updates >= 1 and (.docs[0].pending | not) and .docs[0].last_remote_ms > 0' \
  <<< "$reply" > /dev/null || fail "the control socket's docs: $reply"
phase "a document is shown"

pkc a invite --single-use --json > "$tmp/inv.json" || fail "pkc invite"
inv=$(jq -r .id "$tmp/inv.json")
[ ${#inv} = 16 ] || fail "no invitation id: $(cat "$tmp/inv.json")"
wait_until 10 "the invitation in its panel" \
  pane_has "^  ${inv:0:8} mine  *room-[0-9a-f]*  *in [0-9]m[0-9][0-9]s  *single  *two-step"
# The same through the control socket, as JSON.
reply=$(python3 -c 'import socket, sys
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
s.sendall(b"{\"cmd\":\"invites\"}\n")
print(s.makefile().readline())' "$tmp/a/control.sock")
jq -e --arg id "$inv" '.ok and .count == 1 and .invites[0].id == $id and .invites[0].single_use
  and .invites[0].mine and (.invites[0].used | not) and .invites[0].expires_ms > 0' <<< "$reply" > /dev/null \
  || fail "the control socket's invites: $reply"
phase "the invitation is shown"

# Traffic graph: block characters in UTF-8.
pane_has "^  mesh .* msg/s" || fail "no traffic line: $(screen)"
screen | grep -q "[▁▂▃▄▅▆▇█]" || fail "no graph in block characters: $(screen)"

# A resize: drawn again at the new size, the header on the first line and
# the footer on the last (tmux keeps the old screen's lines until then).
drawn_at() {
  screen > "$tmp/zscreen.out"
  [ "$(wc -l < "$tmp/zscreen.out")" = "$1" ] && sed -n 1p "$tmp/zscreen.out" | grep -q "^ pkc $ida  port" \
    && sed -n "$1p" "$tmp/zscreen.out" | grep -q "^ updated " \
    && [ "$(grep -c "^ updated " "$tmp/zscreen.out")" = 1 ]
}
T resize-window -t dash -x 100 -y 30 || fail "resize"
wait_until 5 "the new size" size_is 100x30
wait_until 5 "the screen drawn at 100x30" drawn_at 30
pane_has "^  $sb " || fail "b's row is gone after the resize"
T resize-window -t dash -x 80 -y 24 || fail "resize back"
wait_until 5 "the size back" size_is 80x24
wait_until 5 "the screen drawn at 80x24" drawn_at 24
pane_has "^Traffic" || fail "the traffic panel is gone at 80x24"
screen > "$tmp/screen.txt"
phase "resizes"

keys q
wait_until 10 "the dashboard to end" pane_has "^dash-exit=0"
wait_until 5 "the shell's prompt back" last_line_is 'shell$'
[ -s "$tmp/stty.after" ] || fail "stty after the dashboard did not run"
cmp -s "$tmp/stty.before" "$tmp/stty.after" \
  || fail "the terminal is not as it was: $(cat "$tmp/stty.before") -> $(cat "$tmp/stty.after")"
grep -q "ERROR: .*Sanitizer\|runtime error" "$tmp/dash.err" && fail "sanitizer report: $(cat "$tmp/dash.err")"
phase "q restores the terminal"

# Again; the node stops under it: said, and it waits; Ctrl-C ends it, the
# terminal restored.
typ "$PKC --data $tmp/a dashboard 2>> $tmp/dash.err; echo dash-exit=\$?; stty -g > $tmp/stty.after2"
keys Enter
wait_until 20 "the dashboard again" pane_has "^ pkc $ida  port [0-9]*  up "
stop a
wait_until 10 "'node stopped' in the header" pane_has "^ pkc $ida  node stopped: waiting for it"
pane_has "^  [0-2][0-9]:[0-5][0-9]:[0-5][0-9] \* node stopped" || fail "no 'node stopped' event"
keys C-c
wait_until 10 "the dashboard to end on Ctrl-C" pane_has "^dash-exit=0"
wait_until 5 "the shell's prompt back after Ctrl-C" last_line_is 'shell$'
cmp -s "$tmp/stty.before" "$tmp/stty.after2" \
  || fail "the terminal is not as it was after Ctrl-C: $(cat "$tmp/stty.after2")"
grep -q "ERROR: .*Sanitizer\|runtime error" "$tmp/dash.err" && fail "sanitizer report: $(cat "$tmp/dash.err")"
phase "the node stopping is shown; Ctrl-C restores the terminal"
[ -n "${PKC_DASHBOARD_SCREEN:-}" ] && cp "$tmp/screen.txt" "$PKC_DASHBOARD_SCREEN"
stop b
passed
