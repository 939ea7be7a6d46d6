#!/usr/bin/env bash
# node.sync_progress: a node holding a document of a few MiB, and new nodes
# that join: the state arrives in fragments and the receiving node reports
# its progress (issue 12 item 7). `pkc up --json` prints "sync" events whose
# received bytes increase and end at the total with done; the documents end
# equal. `pkc up` with stdout piped prints no progress (no carriage return,
# no escape sequence); on a terminal (a pty made by script(1)) it draws the
# updating line and a final one; `pkc chat` in tmux says when it arrived.
. "$(dirname "$0")/lib.sh"
command -v tmux > /dev/null || { echo "skipped: needs tmux"; exit 77; }
command -v script > /dev/null || { echo "skipped: needs script(1)"; exit 77; }

host_ns
start n1 "$host"
# 24 keys of 120 000 characters (random: no compression anywhere): about
# 2.8 MiB of state, over ten fragments of a SYNC message.
for k in $(seq 1 24); do
  v=$(head -c 90000 /dev/urandom | base64 -w0)
  pkc n1 doc set big "k$k" "\"$v\"" > /dev/null || fail "doc set k$k"
done
want=$(doc_json n1 big)
[ "${#want}" -gt 2800000 ] || fail "the document is only ${#want} bytes"
phase "n1 holds a document of ${#want} bytes of JSON"

start n2 "$host"
wait_until 60 "n2 to hold the same document" eval '[ "$(doc_json n2 big)" = "$want" ]'
phase "n2 synced the document"

# The progress n2 reported: the document's message from n1.
id1=$(id_of n1)
events n2 sync | jq -c --arg p "$id1" 'select(.doc == "big" and .peer == $p)' > "$tmp/sync.json"
n=$(grep -c . "$tmp/sync.json")
[ "$n" -ge 2 ] || fail "only $n sync events for the document"
jq -s -e 'length >= 2
  and ([.[].total] | unique | length) == 1
  and .[0].total > 2000000
  and .[0].received < .[0].total and .[0].done == false
  and ([.[].received] as $r | [range(1; $r | length) | $r[.] > $r[. - 1]] | all)
  and ([.[:-1][].done] | all(. == false))
  and .[-1].done == true and .[-1].received == .[-1].total' "$tmp/sync.json" > /dev/null ||
  fail "sync events do not go up to the total: $(cat "$tmp/sync.json")"
phase "n2 reported $n sync events: $(jq -c '[.received, .done]' "$tmp/sync.json" | tr '\n' ' ')"

# pkc up without --json: piped, then on a terminal.
nsenter --net="/run/netns/$host" env XDG_RUNTIME_DIR="$tmp/xdg" "$PKC" --data "$tmp/n3" \
  up < /dev/null > "$tmp/n3.txt" 2> "$tmp/n3.err" &
pid[n3]=$!
pids+=($!)
# script(1) gives the node a pty and writes what it shows to a file.
nsenter --net="/run/netns/$host" env XDG_RUNTIME_DIR="$tmp/xdg" TERM=xterm \
  script -qfe -c "'$PKC' --data '$tmp/n4' up" "$tmp/n4.tty" < /dev/null > /dev/null 2>&1 &
pid[n4]=$!
pids+=($!)
wait_until 60 "n3 and n4 to hold the same document" \
  eval '[ "$(doc_json n3 big)" = "$want" ] && [ "$(doc_json n4 big)" = "$want" ]'
has_synced() { grep -q "synced big from pkc1" "$1"; }
wait_until 20 "n4's terminal to show the sync done" has_synced "$tmp/n4.tty"
grep -q $'\r'"syncing big from pkc1[a-z0-9]*\\.\\.\\.: [0-9]*% ([0-9.]* [KM]iB of [0-9.]* MiB)" \
  "$tmp/n4.tty" || fail "no progress line on the terminal: $(tr '\r\033' '|~' < "$tmp/n4.tty")"
grep -q "document big changed" "$tmp/n3.txt" || fail "n3 did not print the change"
grep -q $'\r' "$tmp/n3.txt" && fail "carriage returns in piped output"
grep -q $'\e' "$tmp/n3.txt" && fail "escape sequences in piped output"
grep -q "syncing\\|synced" "$tmp/n3.txt" && fail "progress in piped output: $(grep "syncing\\|synced" "$tmp/n3.txt")"
phase "piped: no progress; on a terminal: $(tr '\r' '\n' < "$tmp/n4.tty" | grep -a 'syncing\|synced' | head -n 3 | tr -d '\033' | tr '\n' '|')"

# pkc chat on a terminal (tmux): the progress in its prompt, then one line.
sock="$tmp/tmux.sock"
cleanups+=("tmux -S '$sock' kill-server 2> /dev/null")
tmux -S "$sock" new-session -d -x 100 -y 20 \
  "nsenter --net=/run/netns/$host env XDG_RUNTIME_DIR='$tmp/xdg' TERM=xterm '$PKC' --data '$tmp/n5' chat 2> '$tmp/n5.err'" ||
  fail "tmux"
screen_has() { tmux -S "$sock" capture-pane -p | grep -q -- "$1"; }
wait_until 60 "the chat to say the document arrived" \
  screen_has "^[0-2][0-9]:[0-5][0-9] \* synced big from pkc1[a-z0-9]*\.\.\. ([0-9.]* MiB)$"
[ "$(doc_json n5 big)" = "$want" ] || fail "the chat's node does not hold the document"
phase "the chat: $(tmux -S "$sock" capture-pane -p | grep synced)"
tmux -S "$sock" send-keys "/quit" Enter
wait_until 20 "the chat to end" eval '! tmux -S "$sock" has-session 2> /dev/null'
grep -q "ERROR: .*Sanitizer\|runtime error" "$tmp/n5.err" && fail "sanitizer report in the chat"

stop n1 n2 n3
kill -TERM "${pid[n4]}" 2> /dev/null
# script(1) passes the signal on through the pty's hangup; its status is the node's.
wait "${pid[n4]}"
grep -q "ERROR: .*Sanitizer\|runtime error" "$tmp/n3.err" && fail "sanitizer report in n3"
grep -a -q "ERROR: .*Sanitizer\|runtime error" "$tmp/n4.tty" && fail "sanitizer report in n4"
passed
