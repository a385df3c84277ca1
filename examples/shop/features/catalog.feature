Feature: Catalog
  Shoppers and other services read what the shop sells over its JSON API.

  Scenario: The health check answers
    When I request "/health"
    Then the response status is 200
    And the response field "status" is "ok"

  Scenario: Every product is listed with its price
    When I request "/api/products"
    Then the response status is 200
    And the catalog has 6 products
    And product "POT-IRON" costs 45.00

  Scenario: An unknown path is not found
    When I request "/api/coffee"
    Then the response status is 404
