#!/bin/sh
# Tags a release of the Action and moves its major tag, as GitHub's own actions do:
#   scripts/release-action.sh v1.2.3   → tag v1.2.3 on HEAD, move v1 to it (both local; push them after).
# Refuses a malformed version, a dirty tree, a stale action/dist bundle and a version
# CHANGELOG.md does not describe.
set -eu

version="${1:-}"
case "$version" in
  v[0-9]*.[0-9]*.[0-9]*) ;;
  *) echo "release-action: give the version as vMAJOR.MINOR.PATCH, e.g. v1.2.3" >&2; exit 2 ;;
esac
if ! printf '%s\n' "$version" | grep -Eq '^v[0-9]+\.[0-9]+\.[0-9]+$'; then
  echo "release-action: $version is not vMAJOR.MINOR.PATCH" >&2; exit 2
fi
major="${version%%.*}"

cd "$(dirname "$0")/.."
if [ -n "$(git status --porcelain)" ]; then
  echo "release-action: the working tree has changes; commit them first" >&2; exit 1
fi
if ! grep -q "^## $version\$" CHANGELOG.md; then
  echo "release-action: CHANGELOG.md has no section '## $version'; add what changed" >&2; exit 1
fi
if git rev-parse -q --verify "refs/tags/$version" >/dev/null; then
  echo "release-action: tag $version exists already; releases are never re-tagged" >&2; exit 1
fi
fresh="$(mktemp -d)"
trap 'rm -rf "$fresh"' EXIT
npx tsx scripts/build-action.ts "$fresh/index.js"
if ! cmp -s "$fresh/index.js" action/dist/index.js; then
  echo "release-action: action/dist/index.js is stale; run npm run build:action and commit it" >&2; exit 1
fi

git tag -a "$version" -m "Agent Gate Action $version"
git tag -f -a "$major" -m "Agent Gate Action $major (currently $version)" "$version^{commit}"
echo "tagged $version and moved $major to it; publish with:"
echo "  git push origin $version && git push --force origin $major"
