package service

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapplicationautoscaling"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
)

// addScaling creates the service's scalable task count, from MinTasks to MaxTasks, with its scheduled bounds; the
// policies are the web service's or the worker's (web.go, worker.go).
func (s *Service) addScaling(c constructs.Construct, props Props) {
	s.Scaling = awsapplicationautoscaling.NewScalableTarget(c, jsii.String("Scaling"), &awsapplicationautoscaling.ScalableTargetProps{
		ServiceNamespace:  awsapplicationautoscaling.ServiceNamespace_ECS,
		ScalableDimension: jsii.String("ecs:service:DesiredCount"),
		ResourceId:        awscdk.Fn_Join(jsii.String("/"), &[]*string{jsii.String("service"), props.Cluster.ClusterName(), s.Service.ServiceName()}),
		MinCapacity:       jsii.Number(float64(props.Sizing.MinTasks)),
		MaxCapacity:       jsii.Number(float64(props.Sizing.MaxTasks)),
	})
	for _, a := range props.Sizing.Scheduled {
		s.Scaling.ScaleOnSchedule(jsii.String("Schedule-"+a.Name), &awsapplicationautoscaling.ScalingSchedule{
			Schedule:    awsapplicationautoscaling.Schedule_Expression(jsii.String(a.Schedule)),
			MinCapacity: jsii.Number(float64(a.MinTasks)),
			MaxCapacity: jsii.Number(float64(a.MaxTasks)),
		})
	}
}
