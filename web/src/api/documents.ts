/**
 * The GraphQL documents the dashboard sends, checked against schema.graphql at the repository root.
 * Ranges are written inline (`range: { from: $from, to: $to }`) and enum values are chosen from
 * fixed lists in code, so the documents depend on field and argument names only.
 */

export const VIEWER = `query DashboardViewer { viewer { id name scopes stores } }`;

export const STORES = `query DashboardStores { stores { id name currency timezone } }`;

const KPI_FIELDS = `netRevenue grossRevenue refunds orders customers newCustomers returningCustomers averageOrderValue units returnRate`;

export const KPIS = `query DashboardKpis($store: ID, $from: Date!, $to: Date!) {
  kpis(store: $store, range: { from: $from, to: $to }, compareToPreviousPeriod: true) {
    store range { from to }
    ${KPI_FIELDS}
    previousPeriod { range { from to } ${KPI_FIELDS} }
    change {
      netRevenue { ratio }
      orders { ratio }
      customers { ratio }
      averageOrderValue { ratio }
      returnRate { difference }
    }
  }
}`;

export const GRANULARITIES = ['DAY', 'WEEK', 'MONTH'] as const;
export type Granularity = (typeof GRANULARITIES)[number];

export function salesSeriesDoc(granularity: Granularity): string {
  if (!GRANULARITIES.includes(granularity)) throw new Error(`unknown granularity ${granularity}`);
  return `query DashboardSalesSeries($store: ID, $from: Date!, $to: Date!) {
  salesSeries(store: $store, range: { from: $from, to: $to }, granularity: ${granularity}) {
    periodStart netRevenue orders
  }
}`;
}

export const ANOMALIES = `query DashboardAnomalies($store: ID, $from: Date!, $to: Date!) {
  anomalies(store: $store, range: { from: $from, to: $to }, metric: NET_REVENUE, dimension: STORE) {
    date metric dimension dimensionValue actual expected lower upper score direction severity
  }
}`;

export const BREAKDOWNS = `query DashboardBreakdowns($store: ID, $from: Date!, $to: Date!) {
  categoryBreakdown(store: $store, range: { from: $from, to: $to }) { category netRevenue orders units }
  countryBreakdown(store: $store, range: { from: $from, to: $to }) { country netRevenue orders customers }
}`;

export const TOP_PRODUCTS = `query DashboardTopProducts($store: ID, $from: Date!, $to: Date!, $limit: Int!) {
  topProducts(store: $store, range: { from: $from, to: $to }, by: REVENUE, limit: $limit) {
    productId sku name category netRevenue units orders
  }
}`;

export const COHORT_GRANULARITIES = ['MONTH', 'WEEK'] as const;
export type CohortGranularity = (typeof COHORT_GRANULARITIES)[number];

export function retentionDoc(granularity: CohortGranularity): string {
  if (!COHORT_GRANULARITIES.includes(granularity)) throw new Error(`unknown granularity ${granularity}`);
  return `query DashboardRetention($store: ID, $from: Date!, $to: Date!, $periods: Int!) {
  retentionCohorts(store: $store, range: { from: $from, to: $to }, granularity: ${granularity}, periods: $periods) {
    cohortStart size
    periods { period customers rate revenue cumulativeRevenuePerCustomer }
  }
}`;
}

export const SEGMENTS = `query DashboardSegments($store: ID) {
  customerSegments(store: $store) { segment customers share monetary avgRecencyDays avgFrequency }
}`;

export const CUSTOMER_LIST = `query DashboardCustomers($store: ID, $first: Int!, $after: String) {
  customers(store: $store, first: $first, after: $after) {
    nodes { id name country city segment }
    pageInfo { hasNextPage endCursor }
  }
}`;

/** Orders shown on a customer's page (the API's complexity budget allows about 50 with their lines). */
export const CUSTOMER_ORDERS = 25;

export const CUSTOMER = `query DashboardCustomer($store: ID, $id: ID!) {
  customer(store: $store, id: $id) {
    id name country region city segment validFrom inferred
    orders(first: ${CUSTOMER_ORDERS}) {
      id kind status createdAt channel country currency gross discount shipping tax net refunded
      items { lineNumber productId quantity lineAmount product { name category } }
    }
  }
}`;

export const FUNNEL = `query DashboardFunnel($store: ID, $from: Date!, $to: Date!) {
  funnel(store: $store, range: { from: $from, to: $to }) {
    sessions productViews addToCarts checkouts purchases viewRate cartRate checkoutRate purchaseRate overallConversion
  }
  byDay: funnel(store: $store, range: { from: $from, to: $to }, groupBy: [DAY]) {
    date sessions purchases overallConversion
  }
}`;

const IMPORT_FIELDS = `batchId source fileName entity format status read inserted unchanged rejected startedAt finishedAt error`;

export const IMPORTS = `query DashboardImports($store: ID) {
  imports(store: $store, limit: 20) { ${IMPORT_FIELDS} }
}`;

export const IMPORT_BATCH = `query DashboardImportBatch($id: ID!) {
  importBatch(id: $id) {
    ${IMPORT_FIELDS}
    rejectsByReason { reason count }
    sampleRejects { rowNumber entity field reason message raw }
  }
}`;

export const DATA_QUALITY = `query DashboardDataQuality($store: ID) {
  dataQuality(store: $store) { table check dimension value threshold status message checkedAt sampleIds }
}`;

const RUN_FIELDS = `runId jobName queue jobId status attempt startedAt finishedAt durationMs rows error`;

export const PIPELINE = `query DashboardPipeline($store: ID) {
  pipeline(store: $store, limit: 20) {
    queues { queue waiting active delayed failed completed }
    recentRuns { ${RUN_FIELDS} }
    failures { ${RUN_FIELDS} }
  }
}`;

export const RETRY_FAILED = `mutation DashboardRetryFailed($queue: String) { retryFailedJobs(queue: $queue) { queue retried } }`;
