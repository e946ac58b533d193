// Matching request paths to GitHub path templates like
// "/repos/{owner}/{repo}/contents/{path}", the most literal template winning.

export interface Route {
  method: string;
  route: string;
  pattern: RegExp;
  names: string[];
  literal: number;
}

export function compileRoute(method: string, route: string): Route {
  const names: string[] = [];
  const segments = route.split("/");
  const source = segments
    .map((segment, index) => {
      // A parameter is a whole segment, or a segment with a file extension after it ("/{login}.png").
      const param = /^\{(\w+)\}((?:\.\w+)?)$/.exec(segment);
      if (!param) return segment.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
      names.push(param[1]!);
      if (param[2]) return `([^/]+?)${param[2].replace(".", "\\.")}`;
      // A trailing file path or git ref spans several segments.
      const greedy = index === segments.length - 1 && (param[1] === "path" || param[1] === "ref");
      return greedy ? "(.+)" : "([^/]+)";
    })
    .join("/");
  const literal = route.replace(/\{\w+\}/g, "").length;
  return { method: method.toUpperCase(), route, pattern: new RegExp(`^${source}$`), names, literal };
}

export function matchRoute(
  routes: Route[],
  method: string,
  path: string,
): { route: Route; params: Record<string, string> } | null {
  let best: { route: Route; params: Record<string, string> } | null = null;
  for (const route of routes) {
    if (route.method !== method) continue;
    const match = route.pattern.exec(path);
    if (!match) continue;
    if (best && best.route.literal >= route.literal) continue;
    const params: Record<string, string> = {};
    route.names.forEach((name, i) => (params[name] = safeDecode(match[i + 1]!)));
    best = { route, params };
  }
  return best;
}

export function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}
