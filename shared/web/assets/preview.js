// Reads only the start of a (possibly large) result or reject report: streams the response, stops
// after a byte budget, and pulls complete JSON values out of the prefix it has.

/**
 * The first `limit` complete JSON values of `text`, which is a JSON array (`[v, v, ...`), NDJSON
 * (one value per line) or a prefix of either. A value cut off at the end of the text is dropped.
 */
export function firstValues(text, limit, start = 0) {
  const values = [];
  let i = skipSeparators(text, start);
  if (text[i] === '[') i += 1;
  while (values.length < limit) {
    i = skipSeparators(text, i);
    if (i >= text.length || text[i] === ']') break;
    const end = valueEnd(text, i);
    if (end === -1) break;
    values.push(JSON.parse(text.slice(i, end)));
    i = end;
  }
  return values;
}

/** The values of the top-level array `key` of a JSON object given as a prefix of its text. */
export function firstValuesOf(text, key, limit) {
  const match = new RegExp(`"${key}"\\s*:\\s*\\[`).exec(text);
  return match ? firstValues(text, limit, match.index + match[0].length - 1) : [];
}

function skipSeparators(text, i) {
  while (i < text.length && (text[i] === ',' || /\s/.test(text[i]))) i += 1;
  return i;
}

/** Index just past the JSON value that starts at `i`, or -1 if the text ends inside it. */
function valueEnd(text, i) {
  const first = text[i];
  if (first !== '{' && first !== '[' && first !== '"') {
    const match = /^(?:-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?|true|false|null)/.exec(text.slice(i, i + 64));
    if (!match) throw new SyntaxError(`unexpected ${JSON.stringify(first)} at offset ${i}`);
    const end = i + match[0].length;
    return end < text.length ? end : -1;
  }
  let depth = 0;
  let inString = false;
  for (let j = i; j < text.length; j += 1) {
    const c = text[j];
    if (inString) {
      if (c === '\\') j += 1;
      else if (c === '"') {
        inString = false;
        if (depth === 0) return j + 1;
      }
    } else if (c === '"') {
      inString = true;
    } else if (c === '{' || c === '[') {
      depth += 1;
    } else if (c === '}' || c === ']') {
      depth -= 1;
      if (depth === 0) return j + 1;
    }
  }
  return -1;
}

/** The first `maxBytes` of a response body as text, then the download is cancelled. */
export async function readPrefix(response, maxBytes) {
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let text = '';
  let received = 0;
  let complete = false;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) {
      complete = true;
      break;
    }
    received += value.byteLength;
    text += decoder.decode(value, { stream: true });
    if (received >= maxBytes) break;
  }
  if (!complete) await reader.cancel();
  return { text, complete };
}
