import { formatMoney, padRight } from "./format.js";

const COLUMN_WIDTH = 24;

export function summarize(orders) {
  let count = 0;
  let revenue = 0;
  for (const order of orders) {
    if (order.status !== "cancelled") {
      count += 1;
      revenue = revenue + order.total;
    }
  }
  const average = count > 0 ? revenue / count : 0;
  return { count, revenue, average };
}

export function renderRow(label, value) {
  return padRight(label, COLUMN_WIDTH) + formatMoney(value, 2);
}

export function render(orders) {
  const summary = summarize(orders);
  const rows = [
    renderRow("orders", summary.count),
    renderRow("revenue", summary.revenue),
    renderRow("average", summary.average),
  ];
  return rows.join("\n");
}

export function topCustomers(orders, limit) {
  const totals = new Map();
  for (const order of orders) {
    const before = totals.get(order.customer) || 0;
    totals.set(order.customer, before + order.total);
  }
  const ranked = Array.from(totals.entries());
  ranked.sort((a, b) => b[1] - a[1]);
  return ranked.slice(0, limit).map(([name, total]) => ({ name, total }));
}
