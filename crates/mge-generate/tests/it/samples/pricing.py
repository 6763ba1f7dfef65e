"""Discount rules and order pricing."""

from decimal import Decimal

import util.numbers as num

from ..models import Category, Order, OrderTotals

MAX_PERCENT = 90
MAX_DISCOUNT_SHARE = Decimal("0.5")


class DiscountRule:
    """A rule that may take an amount off an order."""

    label = "discount"

    def applies_to(self, order: Order) -> bool:
        return bool(order.lines)

    def amount(self, order: Order) -> Decimal:
        raise NotImplementedError(f"{type(self).__name__} does not compute an amount")

    def describe(self) -> str:
        return self.label


class PercentOff(DiscountRule):
    """A percentage off every line, or off the lines of one category."""

    def __init__(self, percent: int, category: Category | None = None) -> None:
        self.percent = num.clamp(percent, 0, MAX_PERCENT)
        self.category = category
        self.label = f"{self.percent}% off" + (f" {category.value}" if category else "")

    def amount(self, order: Order) -> Decimal:
        eligible = sum(
            (line.subtotal for line in order.lines if self._eligible(line.item.category)),
            num.ZERO,
        )
        return num.percent_of(eligible, self.percent)

    def _eligible(self, category: Category) -> bool:
        return self.category is None or self.category == category


class BuyNGetOneFree(DiscountRule):
    """Every `n + 1`-th unit of the same item is free."""

    def __init__(self, n: int) -> None:
        if n < 1:
            raise ValueError("n must be at least 1")
        self.n = n
        self.label = f"buy {n} get 1 free"

    def applies_to(self, order: Order) -> bool:
        return super().applies_to(order) and any(line.quantity > self.n for line in order.lines)

    def amount(self, order: Order) -> Decimal:
        free_units = ((line, line.quantity // (self.n + 1)) for line in order.lines)
        return sum((line.unit_price * count for line, count in free_units), num.ZERO)


class Coupon(DiscountRule):
    """A fixed amount off orders whose subtotal reaches a minimum."""

    def __init__(self, value: Decimal, minimum: Decimal) -> None:
        self.value = num.to_money(value)
        self.minimum = num.to_money(minimum)
        self.label = f"coupon {self.value} off from {self.minimum}"

    @staticmethod
    def parse(code: str) -> "Coupon":
        """Read codes like `SAVE10-50`: 10 off orders of at least 50."""
        prefix, _, rest = code.upper().partition("SAVE")
        value, sep, minimum = rest.partition("-")
        if prefix or not sep or not value.isdigit() or not minimum.isdigit():
            raise ValueError(f"malformed coupon code {code!r}")
        return Coupon(Decimal(value), Decimal(minimum))

    def applies_to(self, order: Order) -> bool:
        return super().applies_to(order) and order.subtotal() >= self.minimum

    def amount(self, order: Order) -> Decimal:
        return self.value


def price_order(order: Order, rules: list[DiscountRule]) -> OrderTotals:
    """Apply every rule that applies; the discount never passes half the subtotal."""
    totals = OrderTotals(order.subtotal())
    for rule in rules:
        if rule.applies_to(order):
            totals.discount += rule.amount(order)
            totals.notes.append(rule.describe())
    cap = num.round_money(totals.subtotal * MAX_DISCOUNT_SHARE)
    if totals.discount > cap:
        totals.discount = cap
        totals.notes.append(f"discount capped at {cap}")
    return totals
