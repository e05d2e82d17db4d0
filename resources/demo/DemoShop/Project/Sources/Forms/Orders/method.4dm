Case of 
	: (Form event code=On Load)
		Form.orders:=ds.Orders.all().orderBy("ID desc")
End case 
