// On Server Open Connection: accept everyone (Remote4D runs its own hooks, see resources/hooks).
#DECLARE($user : Integer; $id : Integer; $unused : Integer) : Integer
return 0
