module example.com/qqwb-receiver

go 1.19
