#!/bin/sh
# Usage: sh tools/arm64-root.sh DIR
# Makes DIR an arm64 Debian root with the Vulkan loader and Mesa's Vulkan drivers (lavapipe) and
# everything they load, for running arm64 test programs under `qemu-aarch64 -L DIR` (README,
# "Cross-compiling"). The packages come from this machine's apt sources through a private apt
# state in DIR.apt: this machine's architectures, package lists and dpkg database are untouched,
# nothing is installed, the packages are only unpacked into DIR.
set -eu
mkdir -p "${1:?usage: arm64-root.sh DIR}"
root=$(cd "$1" && pwd) # apt takes its directories as absolute paths
state=$root.apt
mkdir -p "$state/lists/partial" "$state/cache/archives/partial" "$state/preferences.d"
: >"$state/status"
cat >"$state/apt.conf" <<CONF
APT::Architecture "arm64";
APT::Architectures { "arm64"; };
APT::Install-Recommends "false";
APT::Sandbox::User "root";
Dir::State::Lists "$state/lists";
Dir::State::status "$state/status";
Dir::Cache "$state/cache";
Dir::Etc::PreferencesParts "$state/preferences.d";
CONF
export APT_CONFIG="$state/apt.conf"
apt-get update -qq
apt-get install -y -qq --download-only libvulkan1 mesa-vulkan-drivers >/dev/null
rm -rf "$root"
mkdir -p "$root"
for deb in "$state"/cache/archives/*.deb; do
  dpkg-deb -x "$deb" "$root"
done
echo "arm64-root: $(ls "$state"/cache/archives/*.deb | wc -l) packages unpacked into $root" >&2
