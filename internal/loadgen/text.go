package loadgen

import (
	"math/rand/v2"
	"strings"
)

// Small vocabularies for work profiles and posts: enough variety that pages do not look
// alike, small enough to stay out of the way.
var (
	firstNames = []string{"Alice", "Bruno", "Chloé", "Dmitri", "Emma", "Farid", "Grace", "Hiro", "Inès", "Jonas",
		"Keiko", "Liam", "Maya", "Nils", "Olivia", "Pablo", "Quentin", "Rosa", "Sami", "Tara", "Umar", "Vera",
		"Wen", "Xavier", "Yara", "Zoé", "Aditi", "Ben", "Carla", "Diego"}
	lastNames = []string{"Martin", "Nakamura", "Okafor", "Petrov", "Quinn", "Rossi", "Schmidt", "Tanaka", "Ueda",
		"Varga", "Walsh", "Xu", "Yilmaz", "Zimmer", "Andersen", "Bernard", "Costa", "Dubois", "Evans", "Fischer",
		"García", "Haddad", "Ivanova", "Jensen", "Kowalski", "Larsen", "Moreau", "Novak", "Olsen", "Park"}
	departments = []string{"Engineering", "Sales", "Marketing", "Finance", "People", "Legal", "Support",
		"Operations", "Product", "Design", "Security", "Research"}
	memberTitles = []string{"Software Engineer", "Account Executive", "Analyst", "Designer", "Support Specialist",
		"Product Manager", "Recruiter", "Accountant", "Data Scientist", "Site Reliability Engineer",
		"Content Strategist", "Legal Counsel", "Security Engineer", "Researcher", "Operations Coordinator"}
	leadTitles = []string{"Team Lead", "Engineering Manager", "Head of Department", "Director", "Principal Engineer"}
	locations  = []string{"Lyon", "Berlin", "Lisbon", "Toronto", "Osaka", "Nairobi", "Austin", "Dublin", "Remote"}
	timeZones  = []string{"Europe/Paris", "Europe/Berlin", "Europe/Lisbon", "America/Toronto", "Asia/Tokyo",
		"Africa/Nairobi", "America/Chicago", "Europe/Dublin", "UTC"}
	pronounsList = []string{"", "", "she/her", "he/him", "they/them"}

	openers = []string{"Quick update:", "Heads up:", "Good news!", "FYI,", "Reminder:", "Shout-out:",
		"Question for the team:", "Today", "This week", "Just now", "After the offsite,", "Small win:"}
	subjects = []string{"the release train", "our onboarding guide", "the quarterly report", "the new office",
		"the staging cluster", "the customer pilot", "the design review", "the hiring plan", "the support queue",
		"the roadmap", "the security audit", "the data pipeline", "the budget draft", "the wiki page",
		"the team lunch", "the migration", "the accessibility fixes", "the API docs"}
	verbs = []string{"is ready for review", "shipped on time", "needs a second pair of eyes", "got a lot faster",
		"moved to next Tuesday", "is finally done", "went better than expected", "has open questions",
		"is blocked on legal", "passed every check", "is looking for volunteers", "broke a record"}
	endings = []string{" Thanks everyone!", " Details in the doc.", " Ping me with questions.", "",
		" More soon.", " Coffee is on me.", " Comments welcome.", " Great teamwork."}
	hashtags = []string{"release", "onboarding", "quarterly", "office", "infra", "customers", "design", "hiring",
		"support", "roadmap", "security", "data", "budget", "docs", "teamlunch", "migration", "a11y", "api",
		"kudos", "til", "remote", "wellbeing", "learning", "ops"}

	loadSentences = []string{"Shipping the new build today.", "Who has the notes from standup?",
		"Lunch and learn at noon in the big room.", "The staging deploy is green again.",
		"Thanks for the quick review!", "Reminder: timesheets are due Friday.",
		"Our customer pilot went live this morning.", "Draft roadmap is in the shared folder."}
)

// sentence makes one short post text; about one post in five carries one or two hashtags.
func sentence(r *rand.Rand) string {
	var b strings.Builder
	b.WriteString(openers[r.IntN(len(openers))])
	b.WriteByte(' ')
	b.WriteString(subjects[r.IntN(len(subjects))])
	b.WriteByte(' ')
	b.WriteString(verbs[r.IntN(len(verbs))])
	b.WriteByte('.')
	b.WriteString(endings[r.IntN(len(endings))])
	if r.IntN(5) == 0 {
		n := 1 + r.IntN(2)
		for i := 0; i < n; i++ {
			b.WriteString(" #")
			b.WriteString(hashtags[r.IntN(len(hashtags))])
		}
	}
	return b.String()
}

// loadText is a post body for the load generator.
func loadText(r *rand.Rand) string {
	s := loadSentences[r.IntN(len(loadSentences))]
	if r.IntN(5) == 0 {
		s += " #" + hashtags[r.IntN(len(hashtags))]
	}
	return s
}
