#!/usr/bin/env bash
# The web page of `resnext serve` in a real headless browser: installs Debian's chromium and
# chromium-driver when they are missing (apt-get, as root or through sudo), then runs
# WebPageBrowserTest (Maven profile 'browser': Selenium drives ChromeDriver). It starts a server on
# a free port, uploads an image, checks the label, the probabilities and the Grad-CAM overlay, then
# uploads a file that is not an image and checks the error line. Screenshot:
# target/browser/serve-page.png. Outside the default suite (it needs the browser).
#   scripts/test-web.sh
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
if [[ ! -x /usr/bin/chromium || ! -x /usr/bin/chromedriver ]]; then
  echo "== installing chromium and chromium-driver (Debian packages)"
  sudo=""
  [[ "$(id -u)" -ne 0 ]] && sudo="sudo"
  $sudo apt-get update -q
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q chromium chromium-driver
fi
/usr/bin/chromium --version
cd "$root"
mvn -B -q -Pbrowser test -Dtest=WebPageBrowserTest -Dsurefire.failIfNoSpecifiedTests=false
echo "web page test passed; screenshot: $root/target/browser/serve-page.png"
