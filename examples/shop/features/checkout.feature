Feature: Checkout
  Checking out prices the cart with bulk discounts, a coupon and shipping, then places an order.

  Scenario Outline: Coupons and bulk discounts change what is paid
    Given a cart with <quantity> of "<sku>"
    When I check out with the coupon "<coupon>"
    Then the response status is 201
    And the order discount is <discount>
    And the order total is <total>

    Examples: Coupons
      | quantity | sku       | coupon    | discount | total |
      | 2        | MUG-BLUE  |           | 0.00     | 28.95 |
      | 2        | MUG-BLUE  | WELCOME10 | 2.40     | 26.55 |
      | 2        | MUG-BLUE  | teatime   | 5.00     | 23.95 |
      | 1        | POT-IRON  | HALFPOT   | 22.50    | 27.45 |

    Examples: Bulk orders
      | quantity | sku       | coupon    | discount | total |
      | 10       | BISC-OAT  |           | 3.75     | 38.70 |
      | 10       | TEA-GREEN | WELCOME10 | 12.35    | 52.65 |

  Scenario: A coupon below its minimum is refused and the cart stays open
    Given a cart with 1 of "TEA-BLACK"
    When I check out with the coupon "TEATIME"
    Then the response status is 400
    And the error concerns "coupon"
    When I check out without a coupon
    Then the response status is 201

  Scenario: An empty cart cannot be checked out
    Given an empty cart
    When I check out without a coupon
    Then the response status is 400
    And the error concerns "cart_id"

  Scenario: A checked-out cart is closed
    Given a cart with 1 of "TEA-GREEN"
    When I check out without a coupon
    And I request the cart
    Then the response status is 404
