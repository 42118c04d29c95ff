#!/bin/bash
# whatif-ratio.sh HPCALC DIR CHANGE [N]: the what-if from files beside the pandas peer, as
# docs/performance.md measures it (issue 12's goals): one unmeasured run of each, then N
# (default 3) pairs, the what-if just after the peer. DIR holds persons.csv, providers.csv
# and claims.csv (hpcalc fixtures scale --persons 1500000 --paid-faults 0.01 --dir DIR);
# CHANGE is a change file (commercial: {in_policy_rate: 0.50}). Needs /usr/bin/time, bc and
# Debian's python3-pandas; the peer is ../shared/peers/pandas_whatif.py, or PEER.
set -euo pipefail
hpcalc=$1 dir=$2 change=$3 n=${4:-3}
peer=${PEER:-$(dirname "$0")/../../shared/peers/pandas_whatif.py}
what_if() {
	/usr/bin/time -f "%e %M %U %S" "$hpcalc" whatif --persons "$dir/persons.csv" --providers "$dir/providers.csv" \
		--claims "$dir/claims.csv" --change "$change" 2>&1 >/dev/null | tail -1
}
pandas() { /usr/bin/time -f "%e %M" /usr/bin/python3 "$peer" "$dir" 2>&1 >/dev/null | tail -1; }
what_if >/dev/null
pandas >/dev/null
for i in $(seq "$n"); do
	h=$(what_if) p=$(pandas)
	read -r hw hkb hu hs <<<"$h"
	pw=${p%% *}
	echo "run $i: what-if $hw s (user $hu s, system $hs s, $hkb KB), pandas $pw s: $(echo "scale=1; $pw/$hw" | bc)x"
done
