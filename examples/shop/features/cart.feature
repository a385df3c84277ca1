Feature: Cart
  A cart collects products; the API refuses items it cannot sell.

  Scenario: A new cart is priced with shipping
    Given a cart with 2 of "TEA-GREEN"
    Then the cart has 1 line
    And the cart total is 17.95

  Scenario: Adding a product that is already in the cart raises its quantity
    Given a cart with 1 of "MUG-BLUE"
    When I add 2 of "MUG-BLUE" to the cart
    Then the response status is 200
    And the cart has 1 line
    And the cart has 3 of "MUG-BLUE"

  Scenario: A cart can be read back by its id
    Given a cart with 1 of "HONEY-JAR"
    When I request the cart
    Then the response status is 200
    And the cart has 1 of "HONEY-JAR"

  Scenario Outline: Items the shop cannot sell are refused
    When I create a cart with the item <item>
    Then the response status is 400
    And the error concerns "<field>"

    Examples:
      | item                                   | field    |
      | {"sku": "COFFEE", "quantity": 1}       | sku      |
      | {"quantity": 1}                        | sku      |
      | {"sku": "TEA-GREEN", "quantity": 0}    | quantity |
      | {"sku": "TEA-GREEN", "quantity": 100}  | quantity |
      | {"sku": "TEA-GREEN", "quantity": "2"}  | quantity |
      | "TEA-GREEN"                            | items    |

  Scenario: An unknown cart is not found
    When I request the cart "does-not-exist"
    Then the response status is 404
