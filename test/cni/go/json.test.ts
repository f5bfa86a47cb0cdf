// Go encoding/json and fmt behaviour reproduced in src/cni/go/: syntax error messages (what
// skel prints for a malformed config), string escaping, MarshalIndent layout, %q quoting.
import { describe, expect, test } from "bun:test";
import { goField, goSyntaxError, parseGoJSON } from "../../../src/cni/go/json";
import { goJSONString, goMarshal, sortKeysDeep } from "../../../src/cni/go/marshal";
import { goQuote, goQuoteList } from "../../../src/cni/go/quote";

const syntax = (s: string) => goSyntaxError(new TextEncoder().encode(s));

describe("Go's JSON syntax errors (scanner.go)", () => {
  const cases: [string, string | null][] = [
    ['{"a":[1,2.5e-3,true,false,null,"x\\u00e9\\n"]}', null],
    ["  0  ", null],
    ["", "unexpected end of JSON input"],
    ["   ", "unexpected end of JSON input"],
    ['{"a":1', "unexpected end of JSON input"],
    ['"abc', "unexpected end of JSON input"],
    ["[", "unexpected end of JSON input"],
    ["tru", "invalid character ' ' in literal true (expecting 'e')"],
    ["fals", "invalid character ' ' in literal false (expecting 'e')"],
    ["nul", "invalid character ' ' in literal null (expecting 'l')"],
    ["tRue", "invalid character 'R' in literal true (expecting 'r')"],
    ["x", "invalid character 'x' looking for beginning of value"],
    ["'a'", "invalid character '\\'' looking for beginning of value"],
    ["{a:1}", "invalid character 'a' looking for beginning of object key string"],
    ['{"a":1,}', "invalid character '}' looking for beginning of object key string"],
    ['{"a" 1}', "invalid character '1' after object key"],
    ['{"a":1 "b":2}', "invalid character '\"' after object key:value pair"],
    ["[1 2]", "invalid character '2' after array element"],
    ["[1,]", "invalid character ']' looking for beginning of value"],
    ["{}}", "invalid character '}' after top-level value"],
    ["01", "invalid character '1' after top-level value"],
    ["-", "invalid character ' ' in numeric literal"],
    ["-a", "invalid character 'a' in numeric literal"],
    ["1.", "invalid character ' ' after decimal point in numeric literal"],
    ["1.e5", "invalid character 'e' after decimal point in numeric literal"],
    ["1e+", "invalid character ' ' in exponent of numeric literal"],
    ['"\\x"', "invalid character 'x' in string escape code"],
    ['"\\u12x4"', "invalid character 'x' in \\u hexadecimal character escape"],
    ['"a\tb"', "invalid character '\\t' in string literal"],
    ['"a\u0001b"', "invalid character '\\x01' in string literal"],
    ["\u00a0{}", "invalid character 'Â' looking for beginning of value"],
    ["[".repeat(10001), "exceeded max depth"],
  ];
  for (const [input, msg] of cases) {
    test(`${JSON.stringify(input.slice(0, 20))} → ${msg ?? "valid"}`, () => expect(syntax(input)).toBe(msg));
  }

  test("parseGoJSON parses valid input and throws Go's message otherwise", () => {
    expect(parseGoJSON('{"a":[1]}')).toEqual({ a: [1] });
    expect(() => parseGoJSON("{")).toThrow("unexpected end of JSON input");
    expect(() => parseGoJSON(new Uint8Array([0xef, 0xbb, 0xbf, 0x7b, 0x7d]))).toThrow(
      "invalid character 'ï' looking for beginning of value",
    );
  });
});

describe("Go's encoding", () => {
  test("string escaping: HTML-safe, \\u2028/\\u2029, control characters", () => {
    expect(goJSONString('a"b\\c')).toBe('"a\\"b\\\\c"');
    expect(goJSONString("<a&b>")).toBe('"\\u003ca\\u0026b\\u003e"');
    expect(goJSONString("\n\r\t\b\f\u0001\u001f\u007f")).toBe('"\\n\\r\\t\\b\\f\\u0001\\u001f\u007f"');
    expect(goJSONString("\u2028\u2029é😀")).toBe('"\\u2028\\u2029é😀"');
    expect(goJSONString("\ud800")).toBe('"\\ufffd"');
  });

  test("MarshalIndent layout; Marshal compact; undefined members omitted", () => {
    expect(goMarshal({ b: 1, a: [], c: {}, d: [{ x: null }], e: undefined }, "    ")).toBe(
      '{\n    "b": 1,\n    "a": [],\n    "c": {},\n    "d": [\n        {\n            "x": null\n        }\n    ]\n}',
    );
    expect(goMarshal({ b: 1, a: ["x", true] })).toBe('{"b":1,"a":["x",true]}');
    expect(goMarshal({})).toBe("{}");
  });

  test("maps sort their keys bytewise at every level", () => {
    expect(Object.keys(sortKeysDeep({ b: 1, B: 2, a: { z: 1, y: 2 } }) as object)).toEqual(["B", "a", "b"]);
    expect(goMarshal(sortKeysDeep({ b: 1, a: { z: 1, y: 2 } }))).toBe('{"a":{"y":2,"z":1},"b":1}');
  });

  test("%q of strings and slices", () => {
    expect(goQuote('a"b\\c')).toBe('"a\\"b\\\\c"');
    expect(goQuote("x\n\t\u0007\u007f\u00a0é\u200b")).toBe('"x\\n\\t\\a\\x7f\\u00a0é\\u200b"');
    expect(goQuoteList(["0.1.0", "1.0.0"])).toBe('["0.1.0" "1.0.0"]');
    expect(goQuoteList([])).toBe("[]");
  });

  test("struct field lookup: exact or any case, the last match wins", () => {
    expect(goField({ name: "a", NAME: "b" }, "name")).toBe("b");
    expect(goField({ Name: "a" }, "name")).toBe("a");
    expect(goField({ other: 1 }, "name")).toBeUndefined();
  });
});
