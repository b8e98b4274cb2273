#!/usr/bin/env bash
# Packs every package and proves the library trims cleanly; ends with "pack: PASS" or "pack: FAIL (reasons)".
#   scripts/pack.sh [output-dir]     packages go to output-dir (default: artifacts/packages)
# 1. dotnet pack -c Release of RactoGateway.Redis.slnx: RactoGateway.Redis, .Tokenizers, .Embeddings, .Offline, .Agents (when present) and
#    the chatmem tool (RactoGateway.Redis.Cli: one package per platform plus one naming them), each .nupkg with
#    README.md, XML docs and a .snupkg of symbols.
# 2. dotnet publish samples/TrimmedSample -c Release -r linux-x64 -p:PublishTrimmed=true: no IL2xxx/IL3xxx warning.
set -uo pipefail
cd "$(dirname "$0")/.."
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1
out=$(realpath -m "${1:-artifacts/packages}")
started=$SECONDS
failures=()

rm -rf "$out" && mkdir -p "$out"
echo "== dotnet pack -c Release -o $out"
if ! dotnet pack RactoGateway.Redis.slnx -c Release -o "$out" -nologo -clp:ErrorsOnly; then
  failures+=("dotnet pack failed")
fi

expected=(RactoGateway.Redis RactoGateway.Redis.Tokenizers RactoGateway.Redis.Embeddings RactoGateway.Redis.Offline RactoGateway.Redis.Cli)
[[ -d src/RactoGateway.Redis.Agents ]] && expected+=(RactoGateway.Redis.Agents)
# The chatmem tool is one package per platform (.NET 10 RID-specific tool packages) plus a small one naming them: each
# platform's package is checked like a library's, with no other platform's natives and no native PDB; the MiniLM model
# is inside RactoGateway.Redis.Embeddings.dll (45 MB of float16 weights, managed code, the same on every platform).
tool_rids=(linux-x64 linux-arm64 osx-arm64 win-x64 win-arm64)
tool=RactoGateway.Redis.Cli
pointer=$(ls "$out/$tool".[0-9]*.nupkg 2>/dev/null | head -1)
if [[ -z "$pointer" ]]; then
  failures+=("$tool: no .nupkg")
else
  settings=$(unzip -p "$pointer" 'tools/any/any/DotnetToolSettings.xml' 2>/dev/null)
  for rid in "${tool_rids[@]}"; do
    grep -q "RuntimeIdentifier=\"$rid\"" <<<"$settings" || failures+=("$tool: $rid not named in DotnetToolSettings.xml")
    expected+=("$tool.$rid")
  done
  unzip -Z1 "$pointer" | grep -qx 'README.md' || failures+=("$tool: no README.md")
  printf '   %-45s %6.1f MB\n' "$(basename "$pointer")" "$(awk -v b="$(stat -c %s "$pointer")" 'BEGIN { print b / 1e6 }')"
fi
for id in "${expected[@]}"; do
  [[ $id == "$tool" ]] && continue
  nupkg=$(ls "$out/$id".[0-9]*.nupkg 2>/dev/null | head -1)
  if [[ -z "$nupkg" ]]; then failures+=("$id: no .nupkg"); continue; fi
  files=$(unzip -Z1 "$nupkg")
  grep -qx 'README.md' <<<"$files" || failures+=("$id: no README.md")
  assembly=$id; [[ $id == "$tool".* ]] && assembly=chatmem
  if [[ $id == "$tool".* ]]; then
    rid=${id#"$tool".}
    grep -qE '/RactoGateway\.Redis\.Embeddings\.dll$' <<<"$files" || failures+=("$id: no RactoGateway.Redis.Embeddings.dll (the recall model)")
    grep -qiE '\.pdb$' <<<"$(grep -vE '/(chatmem|RactoGateway\.[A-Za-z.]+)\.pdb$' <<<"$files")" && failures+=("$id: carries a native PDB")
    grep -qE '/runtimes/' <<<"$files" && failures+=("$id: carries natives of other platforms (runtimes/)")
    grep -q "tools/net10.0/$rid/" <<<"$files" || failures+=("$id: nothing under tools/net10.0/$rid")
  fi
  grep -qE "/$assembly\.dll$" <<<"$files" || failures+=("$id: no $assembly.dll")
  grep -qE "/$assembly\.xml$" <<<"$files" || failures+=("$id: no XML docs ($assembly.xml)")
  [[ -f "${nupkg%.nupkg}.snupkg" ]] || failures+=("$id: no .snupkg")
  nuspec=$(unzip -p "$nupkg" '*.nuspec')
  grep -q '<license type="expression">Apache-2.0</license>' <<<"$nuspec" || failures+=("$id: no Apache-2.0 license")
  repo=$(grep -o '<repository [^>]*>' <<<"$nuspec")
  [[ "$repo" == *commit=* ]] || echo "   note: $id has no repository commit (SourceLink needs a git clone with an 'origin' remote)"
  printf '   %-45s %3d files %6.1f MB  %s\n' "$(basename "$nupkg")" "$(wc -l <<<"$files")" "$(awk -v b="$(stat -c %s "$nupkg")" 'BEGIN { print b / 1e6 }')" "$repo"
done

echo "== dotnet publish samples/TrimmedSample -c Release -r linux-x64 -p:PublishTrimmed=true"
trim_log=$(mktemp)
trap 'rm -f "$trim_log"' EXIT
# ILLink warnings are reported as warnings (and counted here) rather than stopping at the first error.
dotnet publish samples/TrimmedSample -c Release -r linux-x64 -p:PublishTrimmed=true -p:TrimmerSingleWarn=false \
  -p:ILLinkTreatWarningsAsErrors=false -o "$out/../trimmed-sample" -nologo >"$trim_log" 2>&1
publish_status=$?
trim_warnings=$(grep -oE '(warning|error) IL[23][0-9]{3}[^[]*' "$trim_log" | sort -u)
count=$(grep -c . <<<"$trim_warnings")
echo "   trim/AOT warnings: $count"
[[ -n "$trim_warnings" ]] && sed 's/^/   /' <<<"$trim_warnings"
((publish_status == 0)) || { tail -20 "$trim_log"; failures+=("trimmed publish failed"); }
((count == 0)) || failures+=("$count trim warnings")

echo "== $((SECONDS - started)) s"
if ((${#failures[@]})); then
  printf 'pack: FAIL (%s)\n' "$(IFS=';'; echo "${failures[*]}")"
  exit 1
fi
echo "pack: PASS (${#expected[@]} packages in $out, 0 trim warnings)"
