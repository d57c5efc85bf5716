// Building MLflow search filters and order-by clauses from the UI's
// columns and quick-search box.

const plainKey = /^[A-Za-z_][A-Za-z0-9_.]*$/;

// quoteKey renders an entity key for the filter grammar: bare when it is
// an identifier, in backticks otherwise (MLflow's quoting for keys with
// spaces, dashes or dots after digits).
export function quoteKey(key) {
  if (plainKey.test(key)) return key;
  if (key.includes('`')) return '"' + key.replace(/"/g, '\\"') + '"';
  return '`' + key + '`';
}

// quoteValue renders a string literal in single quotes.
export function quoteValue(v) {
  return "'" + String(v).replace(/\\/g, '\\\\').replace(/'/g, "\\'") + "'";
}

// columnExpr is the filter/order-by expression of a column
// {kind: 'metrics'|'params'|'tags'|'attributes', key}.
export function columnExpr(col) {
  return col.kind + '.' + quoteKey(col.key);
}

// orderBy renders one order_by clause.
export function orderBy(col, asc) {
  return columnExpr(col) + (asc ? ' ASC' : ' DESC');
}

// buildFilter turns the search box into a filter: text that looks like a
// filter expression (has a comparison operator) is used as is; other text
// searches run names; conditions are ANDed in.
export function buildFilter(text, conditions = []) {
  const parts = [];
  const t = (text || '').trim();
  if (t) {
    if (/(<=|>=|!=|=|<|>|\bLIKE\b|\bILIKE\b|\bIN\b)/i.test(t)) parts.push(t);
    else parts.push('attributes.run_name ILIKE ' + quoteValue('%' + t + '%'));
  }
  for (const c of conditions) {
    const v = typeof c.value === 'number' ? String(c.value) : quoteValue(c.value);
    parts.push(columnExpr(c) + ' ' + c.op + ' ' + v);
  }
  return parts.map((p) => (parts.length > 1 && /\bor\b/i.test(p) ? '(' + p + ')' : p)).join(' and ');
}
