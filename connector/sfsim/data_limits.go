package sfsim

// orgLimits are the allocations of a Developer Edition org (from a real
// v50 capture), in the order Salesforce sends them. DailyApiRequests is
// replaced by the simulator's own counter.
var orgLimits = []struct {
	name string
	max  int
	// apps marks limits reported per connected app too.
	apps bool
}{
	{"AnalyticsExternalDataSizeMB", 40960, false},
	{"BOZosCalloutHourlyLimit", 20000, false},
	{"ConcurrentAsyncGetReportInstances", 200, false},
	{"ConcurrentEinsteinDataInsightsStoryCreation", 5, false},
	{"ConcurrentEinsteinDiscoveryStoryCreation", 2, false},
	{"ConcurrentSyncReportRuns", 20, false},
	{"DailyAnalyticsDataflowJobExecutions", 60, false},
	{"DailyAnalyticsUploadedFilesSizeMB", 51200, false},
	{"DailyApiRequests", 0, true},
	{"DailyAsyncApexExecutions", 250000, false},
	{"DailyBulkApiBatches", 15000, true},
	{"DailyBulkV2QueryFileStorageMB", 976562, false},
	{"DailyBulkV2QueryJobs", 10000, false},
	{"DailyDurableGenericStreamingApiEvents", 10000, false},
	{"DailyDurableStreamingApiEvents", 10000, false},
	{"DailyEinsteinDataInsightsStoryCreation", 1000, false},
	{"DailyEinsteinDiscoveryPredictAPICalls", 50000, false},
	{"DailyEinsteinDiscoveryPredictionsByCDC", 500000, false},
	{"DailyEinsteinDiscoveryStoryCreation", 100, false},
	{"DailyGenericStreamingApiEvents", 10000, true},
	{"DailyManagedContentPublicRequests", 50000, false},
	{"DailyStandardVolumePlatformEvents", 10000, false},
	{"DailyStreamingApiEvents", 10000, true},
	{"DailyWorkflowEmails", 405, false},
	{"DataStorageMB", 45, false},
	{"DurableStreamingApiConcurrentClients", 20, false},
	{"FileStorageMB", 20, false},
	{"HourlyAsyncReportRuns", 1200, false},
	{"HourlyDashboardRefreshes", 200, false},
	{"HourlyDashboardResults", 5000, false},
	{"HourlyDashboardStatuses", 999999999, false},
	{"HourlyLongTermIdMapping", 100000, false},
	{"HourlyODataCallout", 1000, false},
	{"HourlyPublishedPlatformEvents", 50000, false},
	{"HourlyPublishedStandardVolumePlatformEvents", 1000, false},
	{"HourlyShortTermIdMapping", 100000, false},
	{"HourlySyncReportRuns", 500, false},
	{"HourlyTimeBasedWorkflow", 50, false},
	{"MassEmail", 10, false},
	{"MonthlyEinsteinDiscoveryStoryCreation", 500, false},
	{"MonthlyPlatformEventsUsageEntitlement", 0, false},
	{"Package2VersionCreates", 6, false},
	{"Package2VersionCreatesWithoutValidation", 500, false},
	{"PermissionSets", 1500, false},
	{"PrivateConnectOutboundCalloutHourlyLimitMB", 0, false},
	{"SingleEmail", 15, false},
	{"StreamingApiConcurrentClients", 20, false},
}

// limitsBody is GET /limits: the org's allocations, with DailyApiRequests
// from the simulator's counter. Per-app figures name the one connected app.
func (s *Server) limitsBody() jobj {
	used, daily := s.limits.get()
	remaining := max(daily-used, 0)
	lim := func(m, r int) jobj { return jobj{{"Max", m}, {"Remaining", r}} }
	out := make(jobj, 0, len(orgLimits))
	for _, l := range orgLimits {
		v := lim(l.max, l.max)
		if l.name == "DailyApiRequests" {
			v = lim(daily, remaining)
		}
		if l.apps {
			v = append(v, kv{"sfsim", lim(0, 0)})
		}
		if l.name == "PermissionSets" {
			v = append(v, kv{"CreateCustom", lim(1000, 1000)})
		}
		out = append(out, kv{l.name, v})
	}
	return out
}
