//%attributes = {"lang":"en","executedOnServer":true}
// Sum of the orders not paid yet (runs on the server).
#DECLARE() : Real

return ds.Orders.query("Paid = false").sum("Total")
