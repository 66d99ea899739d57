#!/usr/bin/env bash
# Real meshsim-gui windows under Xvfb (glow on Mesa's software GL): mesh.ron played at full speed, then the README's cascade and fork pictures. The first opens mesh.ron, plays
# at full speed for a few seconds, saves its own frame as a PNG, prints its UI frame times,
# and the PNG is checked not to be blank. Bounded in time.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
command -v xvfb-run >/dev/null || need+=(xvfb xauth)
# the GL and X client libraries winit and glutin load at run time
for lib in libGL.so.1 libEGL.so.1 libX11-xcb.so.1 libxkbcommon-x11.so.0 libXcursor.so.1 libXrandr.so.2 libXi.so.6; do
    ldconfig -p | grep -q "$lib" || { need+=(libgl1 libegl1 libgl1-mesa-dri libx11-xcb1 libxkbcommon-x11-0 libxcursor1 libxrandr2 libxi6); break; }
done
ls /usr/lib/*/dri/swrast_dri.so >/dev/null 2>&1 || need+=(libgl1-mesa-dri)
if [ ${#need[@]} -gt 0 ]; then
    echo "installing: ${need[*]}"
    sudo=""; [ "$(id -u)" -ne 0 ] && sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

# the test step built the binary (its integration tests need it): asking for the whole workspace's
# test targets again reuses that build; `-p meshsim-gui` alone would unify features differently
# and compile the toolkit anew
cargo test --workspace --locked --no-run -q
out=$(mktemp -d)
LIBGL_ALWAYS_SOFTWARE=1 timeout 180 xvfb-run -a -s "-screen 0 1600x1000x24" \
    target/debug/meshsim-gui worlds/mesh.ron --play max --screenshot "$out/window.png" --after 8 --stats
python3 .ci/check_png.py "$out/window.png" 1400 900
# the README's two pictures, made the same way: cascade.ron paused at its cascade with the timeline
# and the cascades panel, and a fork of vaults.ron beside the plain run
LIBGL_ALWAYS_SOFTWARE=1 timeout 180 xvfb-run -a -s "-screen 0 1600x1000x24" \
    target/debug/meshsim-gui worlds/cascade.ron --play max --cascade 1 --screenshot "$out/cascade.png" --after 8 \
    | tee "$out/cascade.txt"
grep -q "^block 4[0-9]," "$out/cascade.txt"   # paused where its cascade spreads, not at the end
python3 .ci/check_png.py "$out/cascade.png" 1400 900
LIBGL_ALWAYS_SOFTWARE=1 timeout 180 xvfb-run -a -s "-screen 0 1600x1000x24" \
    target/debug/meshsim-gui worlds/vaults.ron --fork assets/sessions/vaults-eth-crash.ron --screenshot "$out/fork.png" --after 10
python3 .ci/check_png.py "$out/fork.png" 1400 900
