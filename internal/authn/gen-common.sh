#!/bin/sh
# Regenerates common-passwords.txt, the blocklist embedded by common.go, from
# Openwall's password.lst as shipped in Debian's john-data package
# (apt-get install john-data). The list is public domain and ordered from the
# most to the least common password.
#
# Steps: drop the "#!comment" header lines, lower-case, keep entries of at
# least 4 characters (shorter ones are refused by every length rule anyway),
# and drop duplicates while keeping the first (most common) occurrence.
#
# Usage: ./gen-common.sh [path/to/password.lst]
set -eu
src=${1:-/usr/share/john/password.lst}
out=$(dirname "$0")/common-passwords.txt
LC_ALL=C grep -v '^#!comment' "$src" |
	LC_ALL=C tr 'A-Z' 'a-z' |
	LC_ALL=C awk 'length($0) >= 4 && !seen[$0]++' >"$out"
echo "$(wc -l <"$out") passwords written to $out"
