// Playwright Test reporter that writes each test's start and result to qaagent's live feed.
//
// One JSON line per event is appended to the file named by $QAAGENT_EVENTS; nothing at all is
// written when that variable is unset. A test is named as Playwright's JUnit reporter names its
// test case (file :: titles joined by " › "), so the feed and the JUnit report agree.
"use strict";

const fs = require("node:fs");

const FEED_VARIABLE = "QAAGENT_EVENTS";
const TITLE_SEPARATOR = " \u203a ";
const ANSI_ESCAPE = /\u001b\[[0-9;]*[A-Za-z]/g;
const MATCHER = /expect\(.*?\)\.(not\.)?(\w+)/;
const ERROR_NAME = /^(\w+): /;

// Appends JSON lines, one write each, so lines of parallel writers never interleave.
class LiveFeed {
  constructor(path) {
    this.descriptor = null;
    if (!path) return;
    try {
      this.descriptor = fs.openSync(path, "a");
    } catch {
      this.descriptor = null;
    }
  }

  write(fields) {
    if (this.descriptor === null) return;
    const present = Object.fromEntries(
      Object.entries(fields).filter(([, value]) => value !== undefined && value !== null),
    );
    try {
      fs.writeSync(this.descriptor, `${asciiJson(present)}\n`);
    } catch {
      this.close();
    }
  }

  close() {
    if (this.descriptor === null) return;
    const descriptor = this.descriptor;
    this.descriptor = null;
    try {
      fs.closeSync(descriptor);
    } catch {
      // The feed is best effort; the JUnit report stays the record.
    }
  }
}

// JSON with every character outside ASCII escaped, as qaagent reads the feed.
function asciiJson(value) {
  return JSON.stringify(value).replace(
    /[\u007f-\uffff]/g,
    (character) => `\\u${character.charCodeAt(0).toString(16).padStart(4, "0")}`,
  );
}

// The id qaagent gives the test's JUnit case: `<file below testDir>::<titles>`.
function junitId(test) {
  const [, project, file, ...titles] = test.titlePath();
  const prefix = project && includesProjectInName() ? `[${project}] ` : "";
  return `${file}::${prefix}${titles.join(TITLE_SEPARATOR)}`;
}

// Whether the JUnit reporter puts `[project] ` before each name, as its variable asks.
function includesProjectInName() {
  const value = (process.env.PLAYWRIGHT_JUNIT_INCLUDE_PROJECT_IN_TEST_NAME || "").toLowerCase();
  return value === "1" || value === "true";
}

// Every test's id, numbered ` #2`, ` #3` where a name repeats, in the order of the JUnit report.
function numberedIds(tests) {
  const seen = new Map();
  const ids = new Map();
  for (const test of tests) {
    const id = junitId(test);
    const occurrence = (seen.get(id) || 0) + 1;
    seen.set(id, occurrence);
    ids.set(test.id, occurrence === 1 ? id : `${id} #${occurrence}`);
  }
  return ids;
}

// The outcome qaagent reads from the JUnit case this result alone would make.
function outcomeOf(test, result) {
  if (result.status === "skipped" || result.status === "interrupted") return "skipped";
  if (result.status === test.expectedStatus) return "passed";
  const error = result.error;
  if (!error) return "failed";
  return MATCHER.test(plainText(error.message || error.value)) ? "failed" : "error";
}

// The error's first line without its `Error: ` name, as the JUnit message reads.
function firstLine(error) {
  const text = plainText(error.message || error.value);
  return text.replace(ERROR_NAME, "").split("\n")[0].trim() || undefined;
}

// Text as the terminal would show it, without colour codes.
function plainText(text) {
  return String(text || "").replace(ANSI_ESCAPE, "");
}

class QaagentReporter {
  constructor() {
    this.feed = new LiveFeed(process.env[FEED_VARIABLE]);
    this.ids = new Map();
  }

  printsToStdio() {
    return false;
  }

  onBegin(config, suite) {
    const tests = suite.allTests();
    this.ids = numberedIds(tests);
    this.feed.write({ event: "collected", count: tests.length });
  }

  onTestBegin(test) {
    this.feed.write({ event: "started", test: this.idOf(test) });
  }

  onTestEnd(test, result) {
    const outcome = outcomeOf(test, result);
    const error = outcome === "failed" || outcome === "error" ? result.error : undefined;
    const location = error && error.location ? error.location : undefined;
    this.feed.write({
      test: this.idOf(test),
      outcome,
      duration: Math.max(result.duration, 0) / 1000,
      file: location ? location.file : undefined,
      line: location ? location.line : undefined,
      message: error ? firstLine(error) : undefined,
    });
  }

  onEnd() {
    this.feed.close();
  }

  idOf(test) {
    return this.ids.get(test.id) || junitId(test);
  }
}

module.exports = QaagentReporter;
