"""The interactive prompt as an operator meets it: the real `voxfork` client on
a pseudo-terminal, driven key by key. `?` lists what may follow with help,
Tab completes a word, an ambiguous abbreviation is named, and a word that
fits nothing gets a `^` under it on the screen."""

import os
import pty
import re
import select
import socket
import subprocess
import time

from harness import Harness, binary, free_port, relay_port_base

HOSTNAME = "sbc-pty"
PROMPT = HOSTNAME + "#"
# Cursor movement and other terminal controls the line editor writes.
TERMINAL_CONTROL = re.compile(rb"\x1b\[[0-9;?]*[A-Za-z]|\x1b[()][A-Z0-9]|\x1b[=>]|\x07|\r")


class Terminal:
    """voxfork on the slave side of a pseudo-terminal; the test types on the master."""

    def __init__(self, harness, socket_path):
        self.master, slave = pty.openpty()
        env = dict(os.environ, TERM="vt100", COLUMNS="200", LINES="50")
        self.process = harness.spawn([binary("voxfork"), "-s", socket_path], stdin=slave, stdout=slave,
                                     stderr=slave, env=env, start_new_session=True)
        os.close(slave)
        harness.addCleanup(os.close, self.master)
        self.screen = b""

    def type(self, keys):
        os.write(self.master, keys.encode())

    def text(self):
        return TERMINAL_CONTROL.sub(b"", self.screen).decode(errors="replace")

    def wait_for(self, pattern, timeout=10.0):
        """Reads until the text since the last mark matches `pattern`; returns the match."""
        deadline = time.monotonic() + timeout
        while True:
            match = re.search(pattern, self.text()[self.mark:])
            if match:
                return match
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"timed out waiting for {pattern!r}; the screen:\n{self.text()[self.mark:]}")
            ready, _, _ = select.select([self.master], [], [], left)
            if ready:
                try:
                    self.screen += os.read(self.master, 65536)
                except OSError:  # the client exited
                    pass

    def next_screen(self):
        self.mark = len(self.text())

    mark = 0


class PromptTerminalTest(Harness):

    def setUp(self):
        super().setUp()
        rtp = relay_port_base(12)
        config = (f"hostname {HOSTNAME}\nvoice service voip\n rtp-port range {rtp} {rtp + 10}\n sip\n"
                  f"  listen-port non-secure {free_port(pair=True)}\n!\ncontrol-socket @SOCKET@\n")
        self.d = self.daemon(config).start()
        self.term = Terminal(self, self.d.socket_path)
        self.term.wait_for(re.escape(PROMPT))

    def tearDown(self):
        self.term.type("exit\r")
        self.assertEqual(self.term.process.wait(10), 0)

    def test_question_mark_lists_the_next_words_with_help_and_keeps_the_line(self):
        t = self.term
        t.next_screen()
        t.type("show ?")
        listing = t.wait_for(r"show \?\n((?:  \S+ +.+\n)+)" + re.escape(PROMPT) + "show ").group(1)
        words = dict(re.findall(r"^  (\S+) +(.+)$", listing, re.MULTILINE))
        self.assertEqual(words.get("running-config"), "the configuration in effect", listing)
        self.assertIn("voip", words)
        self.assertIn("version", words)
        # The line is back as it was: finishing it runs the command.
        t.next_screen()
        t.type("version\r")
        t.wait_for(r"voxforkd \d+\.\d+\.\d+\n" + re.escape(PROMPT))

        # Right after a partial word: what that word may become.
        t.next_screen()
        t.type("sh ver?")
        listing = t.wait_for(r"\?\n((?:  \S+ +.+\n)+)" + re.escape(PROMPT)).group(1)
        self.assertEqual(re.findall(r"^  (\S+)", listing, re.MULTILINE), ["version"], listing)
        t.type("\x15")  # Ctrl-U: drop the line

    def test_after_a_filter_the_question_mark_is_part_of_the_expression(self):
        t = self.term
        t.next_screen()
        t.type("show running-config | include ^hosX?tname\r")
        t.wait_for(r"\nhostname " + HOSTNAME + r"\n" + re.escape(PROMPT))

    def test_tab_completes_a_unique_word(self):
        t = self.term
        t.next_screen()
        t.type("show runn\t")
        t.wait_for(r"show running-config $")
        t.type("\r")
        t.wait_for(r"hostname " + HOSTNAME + r"\n(?:.*\n)*end\n" + re.escape(PROMPT))

    def test_an_ambiguous_abbreviation_is_named(self):
        t = self.term
        t.next_screen()
        t.type("sh v\r")
        t.wait_for(r'% Ambiguous command: "sh v"\n' + re.escape(PROMPT))

    def test_running_config_all_spells_out_the_defaults(self):
        self.assertNotIn("logging level", self.d.show("show running-config"))
        everything = self.d.show("show running-config all")
        for line in ("hostname sbc-pty\n", " rtp-port range ", "  bind control source-address 127.0.0.1\n",
                     "license usage interval 3600\n", "logging level info\n"):
            self.assertIn(line, everything)
        t = self.term
        t.next_screen()
        t.type("show running-config ?")
        listing = t.wait_for(r"\?\n((?:  \S+ +.+\n)+)" + re.escape(PROMPT)).group(1)
        self.assertEqual(re.findall(r"^  (\S+)", listing, re.MULTILINE), ["all", "<cr>", "|"], listing)
        t.type("\x15")

    def test_a_bad_word_gets_a_caret_under_it(self):
        t = self.term
        t.next_screen()
        t.type("show bogus\r")
        match = t.wait_for(r"\n( *)\^\n% Invalid input detected at '\^' marker\.\n" + re.escape(PROMPT))
        # Under the `b`: after the prompt and "show ".
        self.assertEqual(len(match.group(1)), len(PROMPT) + len("show "), t.text()[t.mark:])


if __name__ == "__main__":
    import harness
    harness.main()
