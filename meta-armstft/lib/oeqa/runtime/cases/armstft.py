#
# SPDX-License-Identifier: MIT
#
"""oeqa runtime cases for armstft images: the board's own facts (`armstft info`) and the default bundle
verified on the board against its golden outputs (`armstft verify`).

Run by `bitbake armstft-image-dev -c testimage` (TEST_SUITES in images/armstft-image-dev.bb), or by hand
against a running board with oe-core's runner:
`oe-test runtime --target-type simpleremote --target-ip HOST:PORT --packages-manifest MANIFEST
--test-data-file DATA.json --run-tests armstft` (`python -m harness.oeqa` does that for the emulated board).
Test data (testimage writes it from the datastore; optional): ARMSTFT_BUNDLE_DIR, the bundle to verify
(default /usr/share/armstft/default, where armstft-model installs it); ARMSTFT_VERIFY_TIMEOUT, seconds.
"""

import json

from oeqa.core.decorator.depends import OETestDepends
from oeqa.runtime.case import OERuntimeTestCase
from oeqa.runtime.decorator.package import OEHasPackage

DEFAULT_BUNDLE = "/usr/share/armstft/default"


class ArmstftTest(OERuntimeTestCase):
    """armstft's CLI prints one JSON document on stdout and exits 0 only on success."""

    def _run_json(self, command, timeout):
        # stderr (human-readable progress) is dropped so stdout parses as the one JSON document
        status, output = self.target.run(command + " 2>/dev/null", timeout=timeout)
        self.assertEqual(status, 0, msg=f"{command}: exit {status}, output: {output}")
        try:
            return json.loads(output)
        except ValueError as e:
            self.fail(f"{command}: stdout is not one JSON document ({e}): {output[:2000]}")

    @OETestDepends(["ssh.SSHTest.test_ssh"])
    @OEHasPackage(["python3-armstft"])
    def test_armstft_info(self):
        info = self._run_json("armstft info", timeout=300)
        self.assertEqual(info.get("schema"), "armstft.info/1", msg=str(info)[:2000])
        self.assertTrue(str(info.get("torch", "")).startswith("2.9.1"), msg=f"torch: {info.get('torch')!r}")
        self.assertEqual(info.get("machine"), "aarch64", msg=f"machine: {info.get('machine')!r}")
        self.assertTrue(info.get("neon"), msg=f"NEON not reported: {info.get('neon')!r}")

    @OETestDepends(["armstft.ArmstftTest.test_armstft_info"])
    @OEHasPackage(["armstft-model"])
    def test_armstft_verify(self):
        bundle = self.td.get("ARMSTFT_BUNDLE_DIR") or DEFAULT_BUNDLE
        timeout = int(self.td.get("ARMSTFT_VERIFY_TIMEOUT") or 900)
        result = self._run_json(f"armstft verify {bundle}", timeout=timeout)
        self.assertTrue(result.get("ok"), msg=f"verify: {json.dumps(result)[:4000]}")
        self.assertIsNone(result.get("error"), msg=f"verify error: {result.get('error')!r}")
        failed = [c for c in result.get("cases", []) if not c.get("ok")]
        self.assertEqual(failed, [], msg=f"cases outside tolerance: {json.dumps(failed)[:4000]}")
        self.assertGreater(len(result.get("cases", [])), 0, msg="no checks were run")
