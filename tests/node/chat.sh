#!/usr/bin/env bash
# node.chat: `pkc chat` on a terminal (tmux, 80x24) beside a `pkc up` node,
# in a namespace with lo alone: the peer arriving is shown; a line typed
# reaches the other node; a message from it is shown with who and when
# while a half-typed line stays and can still be edited (UTF-8 aware); Up
# recalls the history; /to sends a direct message and its receipt shows;
# escape sequences a peer sends are not passed to the terminal; a second
# node on the same data directory is refused plainly; /quit leaves the
# terminal as it found it and the shell prompt back.
. "$(dirname "$0")/lib.sh"
command -v tmux > /dev/null || { echo "skipped: needs tmux"; exit 77; }

host_ns
sock="$tmp/tmux.sock"
T() { LANG=C.UTF-8 tmux -S "$sock" "$@"; }
cleanups+=("tmux -S '$sock' kill-server 2>/dev/null")
# The pane's screen (and what scrolled off), and its cursor line.
screen() { T capture-pane -p -S -200 -t chat; }
cursor_line() { T capture-pane -p -t chat | sed -n "$(( $(T display -p -t chat '#{cursor_y}') + 1 ))p"; }
cursor_x() { T display -p -t chat '#{cursor_x}'; }
pane_has() { screen | grep -q -- "$1"; }
input_is() { [ "$(cursor_line | sed 's/ *$//')" = "$1" ]; }
keys() { T send-keys -t chat "$@"; }
typ() { T send-keys -t chat -l -- "$1"; }
b_got() { jq -r 'select(.event == "message") | (if .direct then "dm:" else "" end) + .text' \
  "$tmp/b.out" 2>/dev/null | grep -cxF -- "$1"; }
b_has() { [ "$(b_got "$1")" -ge "${2:-1}" ]; }

# A shell in an 80x24 tmux window, in the namespace: its prompt shows when
# the chat is over.
in_ns "$host" env XDG_RUNTIME_DIR="$tmp/xdg" LANG=C.UTF-8 TERM=xterm-256color PS1='shell$ ' \
  tmux -S "$sock" new-session -d -x 80 -y 24 -s chat bash --norc --noprofile \
  || fail "tmux did not start"
wait_until 10 "the shell prompt" pane_has 'shell\$'
typ "stty -g > $tmp/stty.before; $PKC --data $tmp/a --log-level info chat 2>> $tmp/a.err; echo chat-exit=\$?; stty -g > $tmp/stty.after"
keys Enter
wait_until 30 "the chat to start" pane_has '^you are pkc1'
ida=$(screen | sed -n 's/^you are \(pkc1[a-z0-9]*\) .*/\1/p' | head -n 1)
[ ${#ida} = 42 ] || fail "no peer id in the chat's banner"
input_is "[local]" || fail "the input line is not at the cursor: '$(cursor_line)'"
phase "the chat runs as ${ida:4:8}"

# A second node on the same data directory is refused, saying what to do.
out=$(in_ns "$host" env XDG_RUNTIME_DIR="$tmp/xdg" "$PKC" --data "$tmp/a" chat < /dev/null 2>&1)
rc=$?
[ $rc = 1 ] || fail "a second chat on the same data directory exited with $rc"
grep -q "a node already runs on $tmp/a" <<< "$out" || fail "the refusal says: $out"
grep -q -- "--data DIR" <<< "$out" || fail "the refusal does not say what to do: $out"

start b "$host"
idb=$(id_of b)
sb=${idb:4:8}
wait_until 30 "the chat to show the peer arriving" pane_has "^[0-2][0-9]:[0-5][0-9] \* $sb joined"
phase "the peer arriving is shown"

typ "hello from chat"; keys Enter
wait_until 20 "the line typed to reach the other node" b_has "hello from chat"
pane_has "^[0-2][0-9]:[0-5][0-9] you: hello from chat$" || fail "the chat does not show what was sent"

# A half-typed line, with two-byte characters, while a message arrives.
typ "héllo wörld"
wait_until 5 "the half-typed line" input_is "[local] héllo wörld"
[ "$(cursor_x)" = 19 ] || fail "the cursor is at column $(cursor_x), not after the text (19)"
pkc b send "hello from up" > /dev/null || fail "send from b"
wait_until 20 "the message from b on the chat's screen" \
  pane_has "^[0-2][0-9]:[0-5][0-9] $sb: hello from up$"
input_is "[local] héllo wörld" || fail "the half-typed line did not survive: '$(cursor_line)'"
# Editing it: to the start, two steps right (over the é), Backspace, e; to
# the end, Ctrl-W, a word; Left, Delete, Ctrl-K-free: Home, Ctrl-K, Ctrl-Y.
keys C-a Right Right BSpace; typ e
wait_until 5 "the é to be replaced" input_is "[local] hello wörld"
[ "$(cursor_x)" = 10 ] || fail "the cursor is at column $(cursor_x) after the edit, not 10"
keys C-e C-w; typ world; keys Left Left Left Left Left DC Home C-k C-y; typ " again"
wait_until 5 "the edited line" input_is "[local] hello orld again"
keys End BSpace BSpace BSpace BSpace BSpace BSpace C-a Right Right Right Right Right Right
typ w; keys Enter
wait_until 20 "the edited line to reach the other node" b_has "hello world"
phase "a half-typed line survived a message and was edited"

# History: Up twice is the first line sent; Down comes back.
keys Up
wait_until 5 "Up to recall the last line" input_is "[local] hello world"
keys Up
wait_until 5 "Up again, the line before" input_is "[local] hello from chat"
keys Down Down
wait_until 5 "Down back to an empty line" input_is "[local]"
keys Up Up Enter
wait_until 20 "the recalled line sent again" b_has "hello from chat" 2
phase "history with Up and Down"

# Direct messages both ways, by a prefix of the id, and the receipt.
typ "/to ${sb:0:5} a secret for b"; keys Enter
wait_until 20 "the direct message at b" b_has "dm:a secret for b"
pane_has "^[0-2][0-9]:[0-5][0-9] \[direct\] you -> $sb: a secret for b$" \
  || fail "the chat does not show the direct message sent"
wait_until 20 "the receipt" pane_has "^[0-2][0-9]:[0-5][0-9] \* delivered to $sb: a secret for b$"
pkc b send --to "$ida" "psst, only you" > /dev/null || fail "direct message from b"
wait_until 20 "b's direct message on the chat's screen" \
  pane_has "^[0-2][0-9]:[0-5][0-9] \[direct\] $sb: psst, only you$"
typ "/to zzzz hello"; keys Enter
wait_until 5 "an unknown peer refused" pane_has "^-- no peer 'zzzz'"
typ "/peers"; keys Enter
wait_until 5 "/peers" pane_has "^-- 1 peer connected in room local"
pane_has "^-- $sb  $idb  " || fail "/peers does not list b"
phase "direct messages, receipts, /peers"

# What a peer sends cannot drive the terminal: the escape sequence that
# clears the screen is shown, defused.
pkc b send $'\e[2J\e[31mcleared?' > /dev/null || fail "send from b"
wait_until 20 "the defused escape sequence" pane_has "$sb: �\[2J�\[31mcleared?$"
pane_has "you: hello from chat" || fail "the screen was cleared by a peer"
# A long message wraps at spaces, indented under its text.
long="the quick brown fox jumps over the lazy dog and keeps on running far away"
pkc b send "$long $long" > /dev/null || fail "send from b"
wait_until 20 "the long message" pane_has "$sb: the quick brown fox"
joined=$(screen | sed -n "/$sb: the quick brown fox/,/^\[local\]/p" | sed '$d' \
  | sed 's/^[0-9:]* [a-z0-9]*: //; s/^ *//' | tr '\n' ' ' | sed 's/ *$//')
[ "$joined" = "$long $long" ] || fail "the long message is not all there: '$joined'"
screen | sed -n "/$sb: the quick brown fox/{n;p}" | grep -q '^ \{16\}[a-z]' \
  || fail "the second line of the long message is not indented under its text"
# A narrower terminal: the input line is drawn again in it.
typ "typed before a resize"
T resize-window -t chat -x 40 -y 20 || fail "resize"
wait_until 5 "the input line after a resize" input_is "[local] typed before a resize"
keys C-u
wait_until 5 "Ctrl-U to empty the line" input_is "[local]"
phase "escape sequences defused, long lines wrapped, resize"

typ "/quit"; keys Enter
wait_until 20 "the chat to end" pane_has "^chat-exit=0"
wait_until 5 "the shell's prompt back" input_is 'shell$'
[ -s "$tmp/stty.after" ] || fail "stty after the chat did not run"
cmp -s "$tmp/stty.before" "$tmp/stty.after" \
  || fail "the terminal is not as it was: $(cat "$tmp/stty.before") -> $(cat "$tmp/stty.after")"
grep -q "ERROR: .*Sanitizer\|runtime error" "$tmp/a.err" && fail "sanitizer report in the chat"
wait_until 20 "b to see the chat leave" no_peer b "$ida"
stop b
passed
