//%attributes = {"lang":"en"}
// Creates an order for a customer and returns it.
#DECLARE($customerID : Integer; $total : Real) : cs.OrdersEntity

var $order : cs.OrdersEntity
$order:=ds.Orders.new()
$order.CustomerID:=$customerID
$order.Total:=$total
$order.Paid:=False
$order.save()
return $order
