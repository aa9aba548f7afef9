module github.com/ecs-reworked/ecs-reworked

go 1.26
