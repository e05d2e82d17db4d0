// An invoice built from an order.
property order : cs.OrdersEntity
property lines : Collection

Class constructor($order : cs.OrdersEntity)
	This.order:=$order
	This.lines:=[]

Function addLine($label : Text; $amount : Real)
	This.lines.push({label: $label; amount: $amount})

Function total() : Real
	return This.lines.sum("amount")
