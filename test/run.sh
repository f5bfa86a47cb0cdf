#!/bin/bash
# test/run.sh -- what `npm test` runs.
#
#  1. builds dist/nexthop (bun build.ts), the release artifacts (bun build.ts --release
#     --image: dist/release) and type-checks (tsc --noEmit); a failure of any counts as a failure;
#  2. host suites: `bun test` over test/ except *.vm.test.* files;
#  3. VM suites (test/**/*.vm.test.*, they need vrf/ipvlan/dummy): all files in ONE
#     `bun test` inside ONE throw-away VM (test/vm/run-in-vm.sh, TCG, ~3 s boot).
#     If the VM cannot run here, they are listed but not run, and counted as skipped
#     under a loud "VM SUITES SKIPPED" banner;
#  4. reports what the suites left behind as a failure: network namespaces made by
#     test/lib/netns.ts (nh-<tag>-…) and files in the host suites' own $TMPDIR;
#  5. merges both JUnit reports into test-results/junit.xml and prints, as the
#     last line of stdout, "N passed, N failed" (", N skipped" when any were).
# Exit status: 0 if nothing failed, 1 otherwise, 129/130/143 when interrupted.
#
# Environment:
#   NEXTHOP_VM=auto|require|skip  auto (default): run the VM suites when the VM can run
#       (root, x86_64, qemu installed or installable with apt-get); require: a VM that
#       cannot run is a failure (CI); skip: never boot it.
#   NEXTHOP_VM_TIMEOUT  limit for the VM run in seconds, boot included (1200)
#   NEXTHOP_TEST_TIMEOUT_MS  bun's per-test timeout (60000; bun's default is 5000)
#   VMTEST_CACHE  kernel cache of the VM harness (/var/cache/vmtest)
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT" || exit 1
BUN=$ROOT/node_modules/.bin/bun
RESULTS=$ROOT/test-results
VM_MODE=${NEXTHOP_VM:-auto}
VM_TIMEOUT=${NEXTHOP_VM_TIMEOUT:-1200}
TEST_TIMEOUT_MS=${NEXTHOP_TEST_TIMEOUT_MS:-60000}

say() { printf '%s\n' "$*" >&2; }
phase() { say ""; say "=== $* ==="; }
now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$(now)" 'BEGIN{printf "%.1f", b-a}'; }
T_START=$(now)
TIMINGS=()

case $VM_MODE in auto | require | skip) ;; *) say "NEXTHOP_VM must be auto, require or skip"; echo "0 passed, 1 failed"; exit 2 ;; esac
if [ ! -x "$BUN" ]; then
	say "test/run.sh: $BUN is missing: run 'npm ci' first"
	echo "0 passed, 1 failed"
	exit 1
fi

exec 3>&1 # the original stdout, for the host suites' stdout while their stderr goes through tee
TMP=$(mktemp -d /tmp/nexthop-test.XXXXXX)
trap 'rm -rf "$TMP"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP
MANIFEST=$TMP/manifest # what the merge step reads: one tab-separated record per line
: >"$MANIFEST"
mkdir -p "$RESULTS"
rm -f "$RESULTS"/host.xml "$RESULTS"/vm.xml "$RESULTS"/junit.xml

one_line() { printf '%s' "$*" | tr '\t\n' '  '; }
# a failure of the run itself (build, VM, leftovers), reported as a test case "runner > NAME"
runner_fail() { printf 'fail\t%s\t%s\n' "$1" "$(one_line "$2")" >>"$MANIFEST"; }
# suite LABEL JUNIT RC CONSOLE_LOG SKIP_REASON CRASH_NOTE
suite() { printf 'suite\t%s\t%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" "$(one_line "$5")" "$(one_line "$6")" >>"$MANIFEST"; }

# bun prints its progress and summary on stderr; keep a copy for the merge step (it counts
# errors outside tests, which bun's JUnit report leaves out) and keep colours on a terminal.
[ -t 2 ] && export FORCE_COLOR=1

######################################################################
phase "build: bun build.ts"
T=$(now)
"$BUN" build.ts
rc=$?
TIMINGS+=("build $(secs "$T")s")
if [ $rc -ne 0 ]; then
	say "!!! BUILD FAILED (bun build.ts exited $rc): the suites below run against whatever dist/ holds"
	runner_fail "build dist/nexthop" "bun build.ts exited $rc; see its output above"
fi

######################################################################
# The release artifacts (dist/release: per-platform tarballs, the installer image, SHA256SUMS),
# which test/release/*.test.ts unpack and run (chroot, qemu-user, podman).
phase "release: bun build.ts --release --image"
T=$(now)
"$BUN" build.ts --release --image >&2
rc=$?
TIMINGS+=("release $(secs "$T")s")
[ $rc -eq 0 ] || runner_fail "release artifacts" "bun build.ts --release --image exited $rc; see its output above"

######################################################################
# Bun runs TypeScript without checking it; the FFI layer in particular leans on its types.
phase "typecheck: tsc --noEmit"
T=$(now)
"$ROOT/node_modules/.bin/tsc" -p tsconfig.json --noEmit >&2
rc=$?
TIMINGS+=("typecheck $(secs "$T")s")
[ $rc -eq 0 ] || runner_fail "typecheck" "tsc --noEmit exited $rc; see its output above"

######################################################################
phase "VM: can the VM suites run here?"
T=$(now)
mapfile -t VM_FILES < <(find test -type f -name '*.vm.test.*' | sort)
VM_SKIP=""
if [ "$VM_MODE" = skip ]; then
	VM_SKIP="NEXTHOP_VM=skip"
elif [ "$(uname -m)" != x86_64 ]; then
	VM_SKIP="the VM harness needs an x86_64 host, this is $(uname -m)"
elif [ "$(id -u)" != 0 ]; then
	VM_SKIP="not root (the VM harness needs root)"
elif ! command -v qemu-system-x86_64 >/dev/null && ! command -v apt-get >/dev/null; then
	VM_SKIP="qemu-system-x86_64 is not installed and there is no apt-get to install it"
fi
if [ -n "$VM_SKIP" ]; then
	# The VM cannot run here: fine on a developer's machine, a failure when required.
	[ "$VM_MODE" = require ] && runner_fail "VM suites" "NEXTHOP_VM=require, but the VM cannot run: $VM_SKIP"
elif ! bash test/vm/run-in-vm.sh --setup; then
	# It should run here (qemu present or installable) but could not be prepared: a failure.
	VM_SKIP="test/vm/run-in-vm.sh --setup failed (see above)"
	runner_fail "VM setup" "$VM_SKIP"
fi
if [ -n "$VM_SKIP" ]; then
	say "VM cannot run: $VM_SKIP"
	export NEXTHOP_VM=skip # test/vm/harness.test.ts skips its boots too
else
	say "VM ready"
fi
TIMINGS+=("VM setup $(secs "$T")s")

######################################################################
phase "host suites: bun test ./test (without *.vm.test.*)"
T=$(now)
# Namespaces made with test/lib/netns.ts carry this run's tag, so leftovers can be told apart
# from those of a concurrent run on the same machine.
export NEXTHOP_NETNS_TAG
NEXTHOP_NETNS_TAG=r$(od -An -N3 -tx1 /dev/urandom | tr -d ' \n')
# Likewise temp files: the suites get a TMPDIR of their own, checked afterwards.
mkdir "$TMP/tmp"
TMPDIR=$TMP/tmp "$BUN" test --timeout="$TEST_TIMEOUT_MS" --pass-with-no-tests \
	--path-ignore-patterns='**/*.vm.test.*' \
	--reporter=junit --reporter-outfile="$RESULTS/host.xml" ./test 2>&1 >&3 3>&- |
	tee "$TMP/host.log" >&2
rc=${PIPESTATUS[0]}
case $rc in 129 | 130 | 143) exit "$rc" ;; esac
suite host "$RESULTS/host.xml" "$rc" "$TMP/host.log" "" ""
mapfile -t LEFT < <(ls -A "$TMP/tmp")
if [ ${#LEFT[@]} -gt 0 ]; then
	say "!!! temp files left behind by the host suites (removed with the run's temp dir): ${LEFT[*]}"
	runner_fail "temp leftovers" "a host suite did not remove from \$TMPDIR: ${LEFT[*]}"
fi
TIMINGS+=("host suites $(secs "$T")s")

######################################################################
VM_ARGS=("${VM_FILES[@]/#/./}")
if [ ${#VM_FILES[@]} -eq 0 ]; then
	phase "VM suites: none (no test/**/*.vm.test.* files)"
elif [ -n "$VM_SKIP" ]; then
	phase "VM suites: NOT RUN ($VM_SKIP)"
	say "!!! VM SUITES SKIPPED: $VM_SKIP"
	T=$(now)
	# -t with a pattern that matches nothing: bun loads the files and lists every test as
	# skipped in the report (hooks do not run), which gives the exact skipped count.
	"$BUN" test -t '(?!)' --reporter=junit --reporter-outfile="$RESULTS/vm.xml" "${VM_ARGS[@]}" \
		>/dev/null 2>"$TMP/vm.log"
	suite vm "$RESULTS/vm.xml" "$?" "$TMP/vm.log" "$VM_SKIP" ""
	TIMINGS+=("VM suites (listed only) $(secs "$T")s")
else
	phase "VM suites: bun test ${VM_ARGS[*]} in one VM"
	T=$(now)
	mkdir "$TMP/vm-out"
	# The guest sees / read-only (writes land in a RAM overlay); only the -w dir comes back.
	# Bun's transpiler cache would go to /root/.bun: keep it in the guest's /tmp.
	VM_ENV=(-e BUN_RUNTIME_TRANSPILER_CACHE_PATH=/tmp/bun-transpiler-cache -e TMPDIR=/tmp
		-e NEXTHOP_NETNS_TAG="$NEXTHOP_NETNS_TAG")
	[ -n "${FORCE_COLOR:-}" ] && VM_ENV+=(-e FORCE_COLOR=1)
	# test/libcni's driver for the VM suites, built here (seconds) rather than in the guest (~45 s
	# under TCG); suites that need it skip without it.
	if command -v go >/dev/null && [ -d /usr/share/gocode/src/github.com/containernetworking/cni/libcni ] &&
		(cd test/libcni && GO111MODULE=off GOPATH=/usr/share/gocode GOCACHE="$TMP/gocache" HOME="$TMP" \
			go build -o "$TMP/vm-out/libcni-driver" .) >&2; then
		VM_ENV+=(-e NEXTHOP_LIBCNI_DRIVER="$TMP/vm-out/libcni-driver")
	fi
	bash test/vm/run-in-vm.sh -t "$VM_TIMEOUT" -w "$TMP/vm-out" "${VM_ENV[@]}" -- \
		"$BUN" test --timeout="$TEST_TIMEOUT_MS" \
		--reporter=junit --reporter-outfile="$TMP/vm-out/junit.xml" "${VM_ARGS[@]}" |
		tee "$TMP/vm.log"
	rc=${PIPESTATUS[0]}
	case $rc in
	129 | 130 | 143) exit "$rc" ;;
	124) note="the VM run timed out after ${VM_TIMEOUT}s (NEXTHOP_VM_TIMEOUT)" ;;
	125) note="the VM died before the suites finished (no exit status came back); rerun test/vm/run-in-vm.sh -v" ;;
	*) note="" ;;
	esac
	[ -s "$TMP/vm-out/junit.xml" ] && cp "$TMP/vm-out/junit.xml" "$RESULTS/vm.xml"
	suite vm "$RESULTS/vm.xml" "$rc" "$TMP/vm.log" "" "$note"
	TIMINGS+=("VM suites $(secs "$T")s (boot included)")
fi

######################################################################
# Leftover namespaces of this run (host side; the VM's vanish at poweroff).
if command -v ip >/dev/null; then
	mapfile -t LEFT < <(ip netns list 2>/dev/null | awk '{print $1}' | grep -E "^nh-.*${NEXTHOP_NETNS_TAG}-" || true)
	if [ ${#LEFT[@]} -gt 0 ]; then
		say "!!! network namespaces left behind by this run (now deleted): ${LEFT[*]}"
		runner_fail "netns leftovers" "a test did not delete: ${LEFT[*]}"
		for ns in "${LEFT[@]}"; do ip netns delete "$ns" 2>/dev/null; done
	fi
fi

######################################################################
say ""
TIMINGS+=("total $(secs "$T_START")s")
say "timings: $(printf '%s, ' "${TIMINGS[@]}" | sed 's/, $//')"
"$BUN" run - "$MANIFEST" "$RESULTS/junit.xml" <<'EOF'
// Merges the JUnit reports named in the manifest into one report and prints the summary;
// exit 0 when nothing failed, 3 when something did (anything else: the merge itself broke).
import { existsSync, readFileSync, writeFileSync } from "node:fs";

const [manifest, out] = process.argv.slice(2);
const esc = (s: string) =>
  s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
const unesc = (s: string) =>
  s.replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&quot;/g, '"').replace(/&apos;/g, "'")
    .replace(/&#10;/g, " ").replace(/&amp;/g, "&");
const attr = (attrs: string, name: string) => unesc(attrs.match(new RegExp(`\\b${name}="([^"]*)"`))?.[1] ?? "");

let passed = 0, failed = 0, skipped = 0;
const failedNames: string[] = [];
const banners: string[] = [];
const parts: string[] = [];
const runner: { name: string; message: string }[] = [];

for (const line of readFileSync(manifest, "utf8").split("\n").filter(Boolean)) {
  const [kind, ...f] = line.split("\t");
  if (kind === "fail") {
    runner.push({ name: f[0], message: f[1] });
    continue;
  }
  const [label, file, rcText, log, skipReason, crashNote] = f;
  const rc = Number(rcText);
  let xml = existsSync(file) ? readFileSync(file, "utf8") : "";
  const n = { passed: 0, failed: 0, skipped: 0 };
  for (const m of xml.matchAll(/<testcase\b([^>]*?)(?:\/>|>([\s\S]*?)<\/testcase>)/g)) {
    const body = m[2] ?? "";
    if (/<(failure|error)\b/.test(body)) {
      n.failed++;
      failedNames.push(`${label}: ${[attr(m[1], "file"), attr(m[1], "classname"), attr(m[1], "name")]
        .filter(Boolean).join(" > ")}`);
    } else if (/<skipped\b/.test(body)) n.skipped++;
    else n.passed++;
  }
  // bun counts errors outside any test (a file that throws while loading, an unhandled
  // rejection between tests) in its console "N fail" line but not in the JUnit report.
  const consoleText = existsSync(log) ? readFileSync(log, "utf8").replace(/\x1b\[[0-9;]*m/g, "") : "";
  const consoleFail = Number([...consoleText.matchAll(/^ *(\d+) fail$/gm)].at(-1)?.[1] ?? 0);
  const outside = Math.max(0, consoleFail - n.failed);
  if (skipReason) {
    xml = xml.replace(/<skipped \/>/g, `<skipped message="${esc(`VM suites skipped: ${skipReason}`)}" />`);
    banners.push(`VM SUITES SKIPPED: ${skipReason} (${n.skipped} tests not run)`);
  }
  if (outside > 0) {
    runner.push({ name: `${label} suites`, message: `${outside} error(s) outside any test (a file that failed to load, or an unhandled error); see the output above` });
  } else if (!skipReason && rc !== 0 && n.failed === 0) {
    runner.push({ name: `${label} suites`, message: crashNote ||
      (xml ? `bun test exited ${rc} although its report shows no failure` : `bun test exited ${rc} and wrote no report`) });
  }
  passed += n.passed; failed += n.failed; skipped += n.skipped;
  const inner = xml.replace(/^[\s\S]*?<testsuites\b[^>]*>/, "").replace(/<\/testsuites>\s*$/, "");
  parts.push(`  <testsuite name="${label}" tests="${n.passed + n.failed + n.skipped}" failures="${n.failed}" skipped="${n.skipped}">${inner}  </testsuite>\n`);
}
if (runner.length > 0) {
  failed += runner.length;
  parts.push(`  <testsuite name="runner" tests="${runner.length}" failures="${runner.length}" skipped="0">\n` +
    runner.map((r) => `    <testcase name="${esc(r.name)}" classname="runner"><failure message="${esc(r.message)}" /></testcase>\n`).join("") +
    `  </testsuite>\n`);
}
writeFileSync(out, `<?xml version="1.0" encoding="UTF-8"?>\n<testsuites name="nexthop" tests="${passed + failed + skipped}" failures="${failed}" skipped="${skipped}">\n${parts.join("")}</testsuites>\n`);

const lines: string[] = [""];
if (failedNames.length > 0) {
  lines.push("FAILED TESTS:", ...failedNames.slice(0, 50).map((s) => `  ${s}`));
  if (failedNames.length > 50) lines.push(`  … and ${failedNames.length - 50} more (test-results/junit.xml)`);
}
if (runner.length > 0) lines.push("RUN FAILURES:", ...runner.map((r) => `  ${r.name}: ${r.message}`));
for (const b of banners) lines.push("", "!".repeat(72), `!!! ${b}`, "!".repeat(72));
lines.push(`${passed} passed, ${failed} failed${skipped > 0 ? `, ${skipped} skipped` : ""}`);
process.stdout.write(lines.join("\n") + "\n");
process.exit(failed > 0 ? 3 : 0);
EOF
rc=$?
case $rc in
0) exit 0 ;;
3) exit 1 ;;
*)
	say "test/run.sh: merging the JUnit reports failed (exit $rc)"
	echo "0 passed, 1 failed"
	exit 1
	;;
esac
