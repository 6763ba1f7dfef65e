import { Item, Stock } from "./models";
import { clamp, roundTo } from "./util";

export const MAX_RESERVE = 100;

export interface Reservation {
  sku: string;
  quantity: number;
}

export class Inventory {
  private readonly stock = new Map<string, Stock>();

  add(item: Item, quantity: number): void {
    if (quantity <= 0) {
      throw new Error(`quantity of ${item.sku} must be positive`);
    }
    const current = this.stock.get(item.sku);
    const next = (current?.quantity ?? 0) + quantity;
    this.stock.set(item.sku, { item, quantity: next });
  }

  available(sku: string): number {
    return this.stock.get(sku)?.quantity ?? 0;
  }

  reserve(sku: string, wanted: number): Reservation {
    const have = this.available(sku);
    const quantity = clamp(wanted, 0, Math.min(have, MAX_RESERVE));
    if (quantity === 0) {
      throw new Error(`nothing to reserve for ${sku}`);
    }
    const entry = this.stock.get(sku);
    if (entry !== undefined) {
      entry.quantity = entry.quantity - quantity;
    }
    return { sku, quantity };
  }

  value(prices: Map<string, number>): number {
    let total = 0;
    for (const [sku, entry] of this.stock) {
      const price = prices.get(sku) ?? 0;
      total += price * entry.quantity;
    }
    return roundTo(total, 2);
  }
}

export function fillRate(reserved: number, wanted: number): number {
  if (wanted < 1) {
    return 1;
  }
  return roundTo(reserved / wanted, 3);
}
